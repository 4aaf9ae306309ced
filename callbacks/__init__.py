"""Callbacks: the transactional outbox and signed webhooks (filled by the callbacks issue)."""
