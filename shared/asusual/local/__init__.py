"""Local mode: the same handlers on one machine, on in-memory AWS (moto), with time travel.

Never imported by a function; only the local server, the demo and tests use it."""
