"""Campaigns: a message to a segment at each member's local time, with a holdout that proves what
it earned (uplift.py, report.py: the statistics and the report of every campaign and trigger kind
with a holdout). Above segments and delivery (it reads membership and renders through the
dispatcher's rules), below the adapters that store and publish it."""
