"""The exported JSON Schema files are the integrators' contract: they must match the code."""

import json

from schemas.export import FOLDER, render, schemas


def test_every_schema_file_matches_the_records() -> None:
    expected = schemas()
    on_disk = {path.name for path in FOLDER.glob("*.json")}
    assert on_disk == set(expected), "schema files differ from the records: run `make schemas`"
    for name, schema in expected.items():
        assert (FOLDER / name).read_text() == render(schema), f"{name} is stale: run `make schemas`"


def test_schema_files_name_their_version_and_forbid_extra_fields() -> None:
    for path in FOLDER.glob("*.json"):
        document = json.loads(path.read_text())
        assert document["$id"].endswith(path.name.removesuffix(".schema.json"))
        if "properties" in document:
            assert document["additionalProperties"] is False, path.name
            assert document["properties"]["schema_version"]["const"] == 1, path.name
