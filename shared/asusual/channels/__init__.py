"""Channel senders: the only modules that call AWS (or a webhook) to deliver a message."""
