"""Adapters between taskforge's task pools and reward specs and RL trainers (see README.md)."""
