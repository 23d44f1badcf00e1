"""The HTTP face of mql: `create_app(settings)` builds the FastAPI application."""
