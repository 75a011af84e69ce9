"""Markers the orchestrator and any offline agent share (tau2's conventions, no domain)."""

from __future__ import annotations

STOP = "###STOP###"
"""The user simulator's end-of-conversation token."""
TRANSFER = "###TRANSFER###"
"""The user simulator's token after a transfer to a human agent."""
ERROR_MODES_KEY = "taskforge_error_modes"
"""Key under which a scripted policy returns its fired error modes (the orchestrator strips it)."""
