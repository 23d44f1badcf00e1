"""Use cases: one function per use case, joining adapters and the core."""
