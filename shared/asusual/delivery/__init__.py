"""Delivery: how, where and when a message goes out (consent, caps, quiet hours, channel choice),
and the senders that put it on a channel (delivery/channels)."""
