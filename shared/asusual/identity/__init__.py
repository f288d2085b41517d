"""Identity: which identifiers an event carries, normalized and guarded, and how they resolve to
exactly one profile per person (merges recorded and reversible)."""
