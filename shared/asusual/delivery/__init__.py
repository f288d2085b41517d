"""Delivery: how, where and when a message goes out (consent, caps, quiet hours, channel choice).
The senders that put it on a channel are adapters, in asusual.channels."""
