"""Issue 14, finding 9: bad input on the lifecycle routes is a 400 with a JSON error, on `casewatch serve`."""

import json
from collections.abc import Iterator

import pytest

from streams.admin import ensure_topics
from tests.integration.http_support import ADMIN, Api, running_server
from tests.integration.support import Deployment

SILENCE = {"matchers": ['team="CIN East"']}
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def api(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    deployment = Deployment.create(kafka_bootstrap, tmp_path_factory.mktemp("bad-input"))
    ensure_topics(kafka_bootstrap, deployment.settings.topics)
    with running_server(deployment) as server:
        yield server


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/v1/silences", json.dumps(SILENCE | {"ends_at": "2026-12-31T17:00:00"}).encode(), "ends_at"),
        ("POST", "/v1/silences", json.dumps(SILENCE | {"duration": "999999999d"}).encode(), "duration"),
        ("POST", "/v1/silences", json.dumps(SILENCE | {"duration": "99999999999999d"}).encode(), "duration"),
        ("POST", "/v1/silences", json.dumps(SILENCE | {"ends_at": "9999-12-31T23:59:59-14:00"}).encode(), "ends_at"),
        ("POST", "/v1/silences", b'{"matchers": "\xff\xfe"}', "JSON object in UTF-8"),
        ("POST", "/v1/silences", DEEP, "JSON object in UTF-8"),
        ("POST", "/v1/alerts/a1/ack", DEEP, "JSON object in UTF-8"),
        ("GET", "/v1/notifications?limit=%C2%B2", None, "limit"),
        ("POST", f"/v1/notifications/{2**63}/resend", b"{}", "id"),
        ("DELETE", f"/v1/silences/{2**64}", None, "id"),
    ],
)
def test_bad_input_is_a_400_with_a_json_error(api: Api, method: str, path: str, body: bytes | None,
                                              expected: str) -> None:  # fmt: skip
    answer = api.request(method, path, body, headers={"Content-Type": "application/json"}, token=ADMIN)
    assert answer.status == 400, answer
    assert expected in answer.json()["error"]


def test_an_unknown_key_is_not_echoed(api: Api) -> None:
    hostile = "Jane Smith DOB 2015-02-01 ... told us her stepfather hits her"
    answer = api.request("POST", "/v1/alerts/a1/ack", json.dumps({hostile: 1}).encode(),
                         headers={"Content-Type": "application/json"}, token=ADMIN)  # fmt: skip
    assert answer.status == 400 and "Jane" not in answer.json()["error"]


def test_a_good_silence_is_still_made(api: Api) -> None:
    answer = api.request("POST", "/v1/silences", json.dumps(SILENCE | {"duration": "2h"}).encode(),
                         headers={"Content-Type": "application/json"}, token=ADMIN)  # fmt: skip
    assert answer.status == 201, answer


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(json.dumps([{}] * 1001).encode(), "application/json"), (b"{}\n" * 1001, "application/x-ndjson")],
)
def test_a_batch_over_the_event_cap_is_413_with_the_limit(api: Api, body: bytes, content_type: str) -> None:
    answer = api.post_events(body, content_type)
    assert answer.status == 413, answer
    assert "send at most 1000 per request" in answer.json()["error"]
    assert api.post_events(json.dumps([{}] * 1000).encode()).json()["rejected"] == 1000
