"""Adapters that turn files and messages into records, and records into files."""
