"""The dead-letter reasons the metrics start at 0 are every code the source makes a Rejection with."""

import re
from pathlib import Path

from streams.rejection import DEAD_LETTER_REASONS

ROOT = Path(__file__).resolve().parents[2]
MADE = re.compile(r"\bRejection\(\s*\"([a-z_]+)\"")


def test_every_rejection_code_in_the_source_is_a_known_dead_letter_reason() -> None:
    found = {
        code
        for folder in ("streams", "agents", "casewatch")
        for path in (ROOT / folder).rglob("*.py")
        for code in MADE.findall(path.read_text())
    }
    assert len(found) >= 10  # the pattern still finds them
    assert found <= set(DEAD_LETTER_REASONS), f"add to DEAD_LETTER_REASONS: {sorted(found - set(DEAD_LETTER_REASONS))}"
