"""The pages customers read from a message's links: why it was sent, the preference center,
unsubscribe and its undo — in the customer's language, with the retailer's name and colour."""
