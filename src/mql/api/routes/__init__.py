"""Routers of the HTTP API, one module per family of endpoints."""
