"""The progress line: drawn on a terminal, nothing at all when standard error is piped."""

import io

from casewatch import progress
from casewatch.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_line_redrawn_in_place_and_cleared(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    out = Terminal()
    shown = Progress(out)
    shown.update(1_000, "reading census.xml")
    shown.update(2_000, "reading census.xml")
    shown.close()
    text = out.getvalue()
    assert text.startswith("\r1,000 events, reading census.xml (") and "\r2,000 events" in text
    assert "\n" not in text and text.endswith("\r")  # cleared: what follows starts on a clean line


def test_piped_output_gets_nothing() -> None:
    out = io.StringIO()
    piped = Progress(out)
    for done in range(1, 10_000):
        piped.update(done, "reading events.jsonl")
    piped.close()
    assert out.getvalue() == ""
