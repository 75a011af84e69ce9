"""Rollouts: agent x user-simulator episodes, trials, and the offline scripted agents."""
