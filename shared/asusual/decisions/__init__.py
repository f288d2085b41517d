"""Decisions: the real-time greeting, offer and price a channel shows a customer now (POST /v1/decide)."""
