"""Why a record was refused: the one shape every door and the dead-letter topic share."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused. `code` is a short label, safe as a metric label."""

    code: str
    reason: str
