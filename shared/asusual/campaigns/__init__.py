"""Campaigns: a segment's members, messaged at their local time, with a holdout that proves what
the message earned (docs/segments.md); the uplift statistics and the report of every campaign and
trigger kind with a holdout."""
