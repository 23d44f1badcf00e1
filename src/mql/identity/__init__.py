"""CORE: identity resolution: email normalization, lead-to-account matching, merge plans."""
