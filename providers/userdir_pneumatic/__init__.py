"""Pneumatic provider plugin for userdir."""
