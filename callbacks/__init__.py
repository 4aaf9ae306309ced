"""Callbacks: the transactional outbox of job events and the signed webhooks that deliver them."""
