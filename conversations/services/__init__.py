"""Conversations services (one module per concern)."""
