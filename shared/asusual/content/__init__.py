"""Content: the retailer's content pack and the strict, context-true rendering of its templates."""
