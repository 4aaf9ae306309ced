"""What the predictions app's management commands share: a text progress bar for long work."""
from __future__ import annotations

from typing import Any


class ProgressBar:
    """One bar per phase: redrawn in place on a terminal, a line per tenth otherwise (logs stay short).

    `stream` is a command's OutputWrapper (stderr, so stdout keeps only the results).
    """

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.label = ""
        self.last_tenth = -1
        self.unwritten = ""  # off a terminal: the latest line, if it was not written

    def update(self, label: str, done: int, total: int, note: str = "") -> None:
        if label != self.label:
            self.finish()
            self.label, self.last_tenth = label, -1
        fraction = min(1.0, done / total) if total else 1.0
        filled = round(self.width * fraction)
        line = f"  {label:<11} [{'#' * filled}{'.' * (self.width - filled)}] {fraction * 100:5.1f}%  {note}".rstrip()
        if self.tty:
            self._write("\r\x1b[2K" + line, ending="")
        elif int(fraction * 10) > self.last_tenth:
            self.last_tenth = int(fraction * 10)
            self._write(line)
            self.unwritten = ""
        else:
            self.unwritten = line

    def finish(self) -> None:
        """End the current bar: its line on a terminal, its last state otherwise."""
        if self.tty and self.label:
            self._write("")
        elif self.unwritten:
            self._write(self.unwritten)
        self.label, self.unwritten = "", ""

    def _write(self, text: str, ending: str = "\n") -> None:
        self.stream.write(text, style_func=lambda message: message, ending=ending)
        self.stream.flush()
