"""Event intake: the Segment HTTP Tracking API contract (design.md 3.1), validated item by item."""
