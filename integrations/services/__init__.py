"""Integrations services (one module per concern)."""
