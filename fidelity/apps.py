from __future__ import annotations

from django.apps import AppConfig


class FidelityConfig(AppConfig):
    name = "fidelity"
