"""Who the worker's time belongs to: py-spy's samples grouped by the code that owns them.

py-spy's raw (collapsed) output is one line per distinct stack, `frame;frame;...;frame N`,
outermost first, each frame `function (path:line)`, N the samples. A sample belongs to
the innermost frame whose file is in a known owner's package: a `json.loads` called by our
decoder is ours, a socket write under aiokafka's sender is aiokafka's. Samples with no
such frame (the event loop waiting in `select`, interpreter start-up) are python/other.
"""

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

OTHER = "python/other"
IDLE = "waiting (event loop in select)"
# Top-level package -> owner; the order is the table's.
OWNERS: dict[str, str] = {
    "faust": "faust",
    "mode": "faust",
    "aiokafka": "aiokafka",
    "kafka": "kafka-python",
    "agents": "ours",
    "streams": "ours",
    "schemas": "ours",
    "casewatch": "ours",
    "sqlalchemy": "database",
    "sqlite3": "database",
    "psycopg": "database",
    "psycopg2": "database",
}
CHECKOUT = str(Path(__file__).resolve().parents[1]) + "/"  # where our own modules run from
ORDER = ("faust", "aiokafka", "kafka-python", "ours", "database", OTHER, IDLE)


def frame_owner(frame: str) -> str | None:
    """The owner of one frame, from the package its file is in (None: not a known one)."""
    start, end = frame.rfind("("), frame.rfind(":")
    if start < 0 or end <= start:
        return None
    path = frame[start + 1 : end]
    return OWNERS.get(top_package(path))


def top_package(path: str) -> str:
    """The top-level package a file is in: after site-packages, after our checkout, or the
    first directory of a path py-spy already shortened (never an inner one: faust has an
    `agents` package of its own)."""
    if "site-packages/" in path:
        return path.rsplit("site-packages/", 1)[1].split("/")[0]
    if path.startswith(CHECKOUT):
        return path[len(CHECKOUT) :].split("/")[0]
    if path.startswith("/"):  # the standard library: only its sqlite3 has an owner
        return "sqlite3" if "/sqlite3/" in path else ""
    return path.split("/")[0]


def stack_owner(stack: str) -> str:
    frames = stack.split(";")
    if "selectors.py" in frames[-1]:
        return IDLE
    # The event loop drives every callback: only the frames of the callback it is running
    # count, else a sample in asyncio's own scheduling would go to whoever started the loop.
    loop = [i for i, frame in enumerate(frames) if frame.startswith("Handle._run (")]
    for frame in reversed(frames[loop[-1] + 1 :] if loop else frames):
        owner = frame_owner(frame)
        if owner is not None:
            return owner
    return OTHER


def breakdown(lines: Iterable[str]) -> dict[str, int]:
    """Samples per owner, over py-spy raw output lines (every owner present, in table order)."""
    samples: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack and count.isdigit():
            samples[stack_owner(stack)] += int(count)
    return {owner: samples.get(owner, 0) for owner in ORDER}
