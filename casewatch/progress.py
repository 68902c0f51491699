"""A progress line for long work (ingest, replay, report of large files), on a terminal only.

It is redrawn in place on standard error at most a few times a second; when standard
error is not a terminal (piped, in CI, in a container's log) nothing is written at all.
"""

import sys
import time
from typing import TextIO

REDRAW_SECONDS = 0.2


class Progress:
    def __init__(self, out: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.out = out if out is not None else sys.stderr
        self.enabled = self.out.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def update(self, done: int, what: str) -> None:
        """`done` items so far, while doing `what` (a file name, no case data)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn < REDRAW_SECONDS:
            return
        self._drawn = now
        rate = done / max(now - self.started, 1e-9)
        line = f"{done:,} events, {what} ({rate:,.0f} events/s)"
        self.out.write("\r" + line.ljust(self._width))
        self.out.flush()
        self._width = len(line)

    def close(self) -> None:
        """Clear the line, so what is printed next starts on a clean one."""
        if self.enabled and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()
            self._width = 0
