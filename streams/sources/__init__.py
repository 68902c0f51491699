"""The sources casewatch ingests, each an adapter from a file to case events or rejections.

`read_source` detects the format from the file itself (its first bytes, then its name)
and runs the matching adapter; `casewatch ingest` and `casewatch replay` both read
through it, so they validate the same way.
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from streams.codec import Rejection
from streams.jsonl import read_jsonl
from streams.sources.agreements_csv import read_agreements_csv
from streams.sources.annex_a import read_annex_a
from streams.sources.cin_census import read_cin_census
from streams.sources.records import Item, SourceOptions, SourceRejection

Format = Literal["cin-census", "annex-a", "agreements-csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("cin-census", "annex-a", "agreements-csv", "jsonl")
_BY_SUFFIX: dict[str, Format] = {
    ".xml": "cin-census", ".xlsx": "annex-a", ".xlsm": "annex-a", ".csv": "agreements-csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip
SNIFF_BYTES = 4096
SNIFF_LINES = 20


def detect_format(path: Path) -> Format | None:
    """What the file is: by its content first (a misnamed file is still read right), then by its name."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"PK\x03\x04"):  # a zip: xlsx is the only zip casewatch reads
        return "annex-a"
    # Any whole line a JSON object makes it JSON lines, even when the first is damaged (a
    # CIN census has no such line): read as XML, its good lines would never be reached.
    lines = text.split(b"\n")
    complete = lines[:-1] or lines  # the last may be cut short by the sniff
    if any(_json_object(line) for line in complete[:SNIFF_LINES]):
        return "jsonl"
    if text.startswith((b"<?xml", b"<Message", b"<!")):
        return "cin-census"
    first_line = lines[0]
    header = first_line.decode("utf-8", "replace").lower()
    if "agreement_id" in header and "," in header:
        return "agreements-csv"
    # Nothing recognisable inside (an empty or damaged file): the name decides, and the
    # adapter then says precisely what is wrong with it. A damaged CSV may start with '<'
    # too, so only a file the name does not place is taken for XML on that alone.
    by_name = _BY_SUFFIX.get(path.suffix.lower())
    if by_name is None and text.startswith(b"<"):
        return "cin-census"
    return by_name


def _json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return False


def read_source(path: Path, options: SourceOptions, *, format: Format | None = None) -> Iterator[Item]:
    """Every event in the file, and a rejection for every record (or the file) refused."""
    try:
        found = format or detect_format(path)
    except OSError as error:
        yield SourceRejection(path.name, "/", None, "unreadable", f"cannot read the file ({type(error).__name__})")
        return
    if found is None:
        yield SourceRejection(
            path.name,
            "/",
            None,
            "unknown_format",
            "not a CIN census (XML), Annex A (xlsx), agreements CSV or JSON lines file",
        )
        return
    yield from _READERS[found](path, options)


def _jsonl(path: Path, options: SourceOptions) -> Iterator[Item]:
    """Native events: validated exactly as a live message is (streams.codec)."""
    for line in read_jsonl(path, policy=options.policy):
        if isinstance(line.result, Rejection):
            # The bare line number, as `ingest` has always reported it: events.jsonl:115
            yield SourceRejection(path.name, str(line.number), None, line.result.code, line.result.reason,
                                  raw=line.raw or None)  # fmt: skip
        else:
            yield line.result


_READERS: dict[Format, Callable[[Path, SourceOptions], Iterator[Item]]] = {
    "cin-census": read_cin_census,
    "annex-a": read_annex_a,
    "agreements-csv": read_agreements_csv,
    "jsonl": _jsonl,
}

__all__ = ["FORMATS", "Format", "Item", "SourceOptions", "SourceRejection", "detect_format", "read_source"]
