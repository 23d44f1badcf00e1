"""CORE: who gets a qualified lead (routing, round robin) and by when (SLAs, business hours)."""
