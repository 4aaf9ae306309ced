"""Imaging helpers shared by every app: the product cut-out, colour and type setting.

Neutral ground: the image providers, product setup and fidelity all import from here, none from another.
"""
