"""Why a record was refused: the one shape every door and the dead-letter topic share."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused. `code` is a short label, safe as a metric label."""

    code: str
    reason: str


# Every code a `Rejection` is made with (tests/test_streams/test_rejection_codes.py checks the
# source against it): the dead-letter counter starts each at 0, so the first one is seen.
DEAD_LETTER_REASONS = (
    "child_id",
    "empty",
    "future_date",
    "internal_error",
    "invalid_alert",
    "invalid_json",
    "invalid_tick",
    "key_mismatch",
    "missing_key",
    "schema",
    "too_large",
    "unknown_event_type",
    "unknown_team",
    "wrong_partition",
    "wrong_topic",
)
