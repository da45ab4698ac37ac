"""Ejento provider plugin for userdir."""
