"""Paperspace REST API client (requests), retries and typed errors."""
