"""Offers: which product a customer is offered today, the same on every channel."""
