"""The JSON Schema files under schemas/json/, for case-system integrators.

`python -m schemas.export` rewrites them from the records; a test fails when they and
the code disagree, so a contract changes only on purpose (and with its version bumped).
"""

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.alerts import ALERT_SCHEMA_VERSION, Alert
from schemas.events import EVENT_SCHEMA_VERSION, EVENT_TYPES, CaseEvent

FOLDER = Path(__file__).parent / "json"
BASE_URI = "urn:casewatch:schemas"


def _titled(schema: dict[str, Any], name: str, version: int, description: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URI}:{name}.v{version}",
        **schema,
        "description": description,
    }


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every wire contract."""
    out: dict[str, dict[str, Any]] = {}
    records: list[tuple[type[BaseModel], int]] = [(t, EVENT_SCHEMA_VERSION) for t in EVENT_TYPES]
    records.append((Alert, ALERT_SCHEMA_VERSION))
    for record, version in records:
        name = record.__name__.lower()
        doc = (record.__doc__ or "").strip().splitlines()[0]
        out[f"{name}.v{version}.schema.json"] = _titled(record.model_json_schema(), name, version, doc)
    union = TypeAdapter(CaseEvent).json_schema()
    out[f"case-event.v{EVENT_SCHEMA_VERSION}.schema.json"] = _titled(
        union, "case-event", EVENT_SCHEMA_VERSION, "Any case event, told apart by event_type."
    )
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> int:
    FOLDER.mkdir(exist_ok=True)
    for name, schema in schemas().items():
        (FOLDER / name).write_text(render(schema))
        print(f"wrote {FOLDER / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
