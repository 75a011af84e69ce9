"""Domain packages (one per domain), found by name through the registry."""
