"""Tickets services (one module per concern)."""
