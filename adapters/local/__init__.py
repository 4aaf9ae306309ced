"""The CPU provider family: no weights, Pillow, ffmpeg and espeak-ng. The embedded default."""
