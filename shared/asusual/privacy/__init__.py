"""Privacy requests: erasure (with suppression of the person's identifiers) and export."""
