"""ADAPTER: webhooks: signed JSON deliveries over HTTP with retries (httpx)."""
