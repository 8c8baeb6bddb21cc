"""Crash tests: start the tree, kill it at chosen or random moments, restart, check."""
