"""Triggers decide that a customer should hear from us, and why: they emit message intents."""
