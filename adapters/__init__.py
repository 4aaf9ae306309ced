"""Capability adapters: image, video, speech, text, lip sync, stitch, behind one registry (filled by the engine and adapters issues)."""
