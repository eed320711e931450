"""A one-line progress bar with ETA for a terminal (the CLI shows it only on a TTY)."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    def __init__(self, stream: TextIO, width: int = 28) -> None:
        self.stream = stream
        self.width = width
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        frac = min(1.0, done / total) if total else 1.0
        filled = int(frac * self.width)
        elapsed = now - self.start
        eta = (elapsed / frac - elapsed) if frac > 0.02 else None
        eta_txt = f"ETA {int(eta) // 60}:{int(eta) % 60:02d}" if eta is not None else "ETA --:--"
        bar = "█" * filled + "░" * (self.width - filled)
        self.stream.write(f"\r{phase:<8} {bar} {frac * 100:5.1f}%  {eta_txt}  ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * (self.width + 40) + "\r")
            self.stream.flush()
