"""POST /v1/events: a batch of live case events, each answered for, durable before the answer.

Valid events go to their topics keyed by child ID, refused ones to the dead-letter topic
with their reason, and the answer waits for Kafka's acknowledgement (acks=all): a 200
means every result in it is on the broker; a 503 with results says event by event which
are and which to send again. Redelivering is safe: event ids are stable, and the engine
ignores an event it has already applied.
"""

import collections
import logging
import uuid
from typing import Any, Literal

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, Field

from casewatch.config_file import load_input_policy
from casewatch.http.openapi import COMPONENTS, Fragment, error_response, event_schemas, json_content, ref
from casewatch.settings import Settings, SettingsError
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.async_publish import AsyncPublisher, KafkaUnavailable
from streams.batch import (
    JSON_ARRAY,
    MAX_BATCH_EVENTS,
    MEDIA_TYPES,
    NDJSON,
    BatchError,
    BatchTooLarge,
    Status,
    Verdict,
    read_batch,
)
from streams.codec import Rejection
from streams.publish import Record, event_record, rejection_record
from streams.topics import Topics

log = logging.getLogger("casewatch.http")

PATH = "/v1/events"
RETRY_AFTER_SECONDS = 5


# "unconfirmed": Kafka did not acknowledge this event's record (or, for a duplicate, its
# first copy's), so it may or may not be on the broker: the client sends it again.
ResultStatus = Status | Literal["unconfirmed"]


class EventResult(BaseModel):
    """What became of one event of the batch."""

    index: int = Field(description="Position in the batch, from 0 (blank NDJSON lines are not counted).")
    event_id: str | None = Field(description="The event's id, when it could be read as one.")
    status: ResultStatus
    code: str | None = Field(None, description="Why it was rejected, as a short label (rejected only).")
    reason: str | None = Field(
        None, description="Why it was rejected, is a duplicate or is unconfirmed; never echoes values."
    )


class BatchResult(BaseModel):
    """The answer to a batch: totals and one result per event, in the order sent."""

    batch_id: str = Field(description="Also in each dead-letter record's origin, as http:<batch_id>:<index>.")
    accepted: int
    rejected: int
    duplicate: int
    unconfirmed: int = Field(description="Events Kafka did not acknowledge: send these again (503 only).")
    results: list[EventResult]
    error: str | None = Field(None, description="With a 503: what to send again.")


class EventsEndpoint:
    def __init__(
        self,
        *,
        topics: Topics,
        publisher: AsyncPublisher,
        events_counter: Counter,
        max_body_bytes: int,
        policy: InputPolicy = DEFAULT_POLICY,
    ) -> None:
        self.topics = topics
        self.publisher = publisher
        self.events_counter = events_counter
        self.max_body_bytes = max_body_bytes
        self.policy = policy

    async def post(self, request: web.Request) -> web.Response:
        if request.content_type not in MEDIA_TYPES:
            return _error(415, f"send {JSON_ARRAY} (a JSON array of events) or {NDJSON} (one event per line)")
        body = await read_body(request, self.max_body_bytes)
        if body is None:
            return _error(413, f"the body is over {self.max_body_bytes} bytes: send smaller batches")
        try:
            verdicts = read_batch(body, request.content_type, policy=self.policy)
        except BatchTooLarge as error:
            return _error(413, str(error))
        except BatchError as error:
            return _error(400, str(error))
        batch_id = uuid.uuid4().hex
        published = [v for v in verdicts if v.status != "duplicate"]
        try:
            answers = await self.publisher.publish([self._record(v, batch_id) for v in published])
        except KafkaUnavailable as error:
            log.warning("batch %s of %d events not sent: %s", batch_id, len(verdicts), error)
            return _error(
                503,
                "Kafka is unavailable, so nothing in this batch is confirmed: send the whole batch again",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        failed = {v.index: why for v, why in zip(published, answers, strict=True) if why is not None}
        result = self._result(batch_id, verdicts, failed)
        log.info(
            "batch %s: %d accepted, %d rejected, %d duplicate, %d unconfirmed",
            batch_id,
            result.accepted,
            result.rejected,
            result.duplicate,
            result.unconfirmed,
        )
        if not failed:
            return web.Response(text=result.model_dump_json(), content_type="application/json")
        log.warning("batch %s: %s", batch_id, next(iter(failed.values())))
        result.error = (
            f"Kafka did not confirm {result.unconfirmed} of {len(verdicts)} events: send the events whose "
            "status is unconfirmed again (sending the whole batch again is harmless too)"
        )
        return web.Response(
            status=503,
            text=result.model_dump_json(),
            content_type="application/json",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def _record(self, verdict: Verdict, batch_id: str) -> Record:
        if isinstance(verdict.result, Rejection):
            return rejection_record(self.topics, verdict.raw, verdict.result, origin=f"http:{batch_id}:{verdict.index}")
        return event_record(self.topics, verdict.result)

    def _result(self, batch_id: str, verdicts: list[Verdict], failed: dict[int, str]) -> BatchResult:
        results = []
        for verdict in verdicts:
            status: ResultStatus = verdict.status
            code = reason = None
            if verdict.index in failed or verdict.duplicate_of in failed:
                # Its record, or its first copy's, is not acknowledged: counted when sent again.
                status, reason = "unconfirmed", "Kafka did not acknowledge it: send it again"
            elif isinstance(verdict.result, Rejection):
                code, reason = verdict.result.code, verdict.result.reason
            elif verdict.duplicate_of is not None:
                reason = f"event_id already accepted at index {verdict.duplicate_of} of this batch"
            if status != "unconfirmed":
                self.events_counter.labels(status=status, reason=code or "").inc()
            results.append(
                EventResult(index=verdict.index, event_id=verdict.event_id, status=status, code=code, reason=reason)
            )
        count = collections.Counter(r.status for r in results)
        return BatchResult(
            batch_id=batch_id,
            accepted=count["accepted"],
            rejected=count["rejected"],
            duplicate=count["duplicate"],
            unconfirmed=count["unconfirmed"],
            results=results,
        )


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be over `limit` bytes: declared, or counted
    while reading (chunked uploads declare nothing), so an oversized body is never read whole."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def install(app: web.Application, settings: Settings, registry: CollectorRegistry) -> None:
    """Add POST /v1/events; its Kafka producer starts on the first batch and stops with the app."""
    if not settings.bootstrap_servers:
        raise SettingsError("KAFKA_BOOTSTRAP_SERVERS is not set: the ingest endpoint publishes to Kafka")
    publisher = AsyncPublisher(
        settings.bootstrap_servers,
        settings.topics,
        replication_factor=settings.replication_factor,
        security=settings.kafka_security,
    )
    endpoint = EventsEndpoint(
        topics=settings.topics,
        publisher=publisher,
        events_counter=Counter(
            "casewatch_http_events_total",
            "Events received over HTTP and answered for once on Kafka, by status (and reason code when rejected).",
            ["status", "reason"],
            registry=registry,
        ),
        max_body_bytes=settings.max_body_bytes,
        policy=load_input_policy(settings),
    )
    app.router.add_post(PATH, endpoint.post)

    async def close(_: web.Application) -> None:
        await publisher.close()

    app.on_cleanup.append(close)


def openapi() -> Fragment:
    batch_schema: dict[str, Any] = {"type": "array", "minItems": 1, "items": ref("CaseEvent")}
    ndjson_schema = {
        "type": "string",
        "description": "One CaseEvent JSON object per line; blank lines are skipped.",
        "contentMediaType": NDJSON,
    }
    return {
        "paths": {
            PATH: {
                "post": {
                    "summary": "Publish a batch of case events.",
                    "description": (
                        "Each event is validated on its own: valid ones go to their topic (keyed by child_id), "
                        "refused ones to the dead-letter topic with the reason. The answer comes once Kafka has "
                        "acknowledged every record, so a 200 means durable. An event_id already accepted earlier "
                        "in the same batch is answered `duplicate` and not published again. Across batches, "
                        "sending an event again is harmless: ids are stable and processing is idempotent, so "
                        "after a lost answer, send the whole batch again. A 503 with results says event by "
                        "event which are on Kafka and which are `unconfirmed`: send those again."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            JSON_ARRAY: {"schema": batch_schema},
                            NDJSON: {"schema": ndjson_schema},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Every event answered for; all of it is on Kafka.",
                            "content": json_content(ref("BatchResult")),
                        },
                        "400": error_response("The body is not a JSON array (or NDJSON) of events, or is empty."),
                        "401": error_response("No valid bearer token."),
                        "413": error_response(
                            f"The body is over CASEWATCH_MAX_BODY_BYTES, or holds over {MAX_BATCH_EVENTS} events."
                        ),
                        "415": error_response(f"Content-Type is neither {JSON_ARRAY} nor {NDJSON}."),
                        "503": {
                            "description": (
                                "Kafka is unreachable (an Error: nothing is confirmed), or did not acknowledge "
                                "some events (a BatchResult: send those whose status is `unconfirmed` again); "
                                "retry after Retry-After."
                            ),
                            "content": json_content({"oneOf": [ref("Error"), ref("BatchResult")]}),
                        },
                    },
                }
            }
        },
        "components": {"schemas": {**event_schemas(), **_result_schemas()}},
    }


def _result_schemas() -> dict[str, Any]:
    schema = BatchResult.model_json_schema(ref_template=COMPONENTS + "{model}")
    nested: dict[str, Any] = schema.pop("$defs")
    return {"BatchResult": schema, **nested}
