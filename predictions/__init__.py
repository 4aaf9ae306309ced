"""Predictions: event ingestion, features, purchase models and the campaign gate (filled by the purchase-model issue)."""
