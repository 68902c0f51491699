"""Exit codes, and every error as one sentence a data team can act on (no Python class names).

One table for the whole CLI (kubectl and gh do the same): 0 ok, 1 a failure (the broker or
database could not be reached, an unknown alert), 2 a usage or configuration error, 3 input
rejected (a record refused). `--debug` shows the traceback instead.
"""

import sys
from dataclasses import dataclass

OK = 0
FAILURE = 1
USAGE = 2
REJECTED = 3

EXIT_CODES_HELP = """\
exit codes:
  0  done
  1  failure: Kafka or the database could not be reached, Kafka refused a record, or what was asked for does not exist
  2  usage or configuration: a bad option, setting or configuration file
  3  input rejected: ingest refused at least one record (the good ones were still processed)
"""


class CommandError(Exception):
    """A command cannot do what it was asked; the message says why, `code` is its exit code."""

    def __init__(self, message: str, *, code: int = FAILURE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Described:
    message: str
    code: int


def describe(error: BaseException, *, kafka: str | None = None, database: str | None = None) -> Described:
    """One line for an error, and its exit code. `kafka` and `database` name what was being reached."""
    from casewatch.settings import SettingsError
    from casewatch.storage import MissingDatabaseError, StorageError
    from streams.publish import PublishError

    if isinstance(error, SettingsError):
        return Described(f"setting error: {error}", USAGE)
    if isinstance(error, CommandError):
        return Described(str(error), error.code)
    if isinstance(error, PublishError):
        return Described(str(error), FAILURE)
    if isinstance(error, MissingDatabaseError):
        return Described(str(error), FAILURE)
    if isinstance(error, StorageError):
        return Described(str(error), USAGE)
    kafka_said = _kafka_problem(error, kafka)
    if kafka_said is not None:
        return Described(kafka_said, FAILURE)
    database_said = _database_problem(error, database)
    if database_said is not None:
        return Described(database_said, FAILURE)
    if isinstance(error, OSError) and error.filename is not None:
        return Described(f"{error.filename}: {error.strerror or 'cannot be used'}", FAILURE)
    return Described(f"{str(error).strip() or 'failed'} (--debug shows where)", FAILURE)


def _kafka_problem(error: BaseException, bootstrap: str | None) -> str | None:
    errors = sys.modules.get("kafka.errors")  # only when kafka-python was imported can it have raised
    if errors is None or not isinstance(error, errors.KafkaError):
        return None
    where = f"Kafka at {bootstrap}" if bootstrap else "Kafka"
    if isinstance(error, errors.NoBrokersAvailable | errors.KafkaConnectionError | errors.KafkaTimeoutError):
        return f"cannot reach {where}"
    said = str(error).removeprefix(f"{type(error).__name__}: ").strip()
    return f"{where} refused: {said or 'no reason given'}"


def _database_problem(error: BaseException, url: str | None) -> str | None:
    sql = sys.modules.get("sqlalchemy.exc")
    if sql is None or not isinstance(error, sql.SQLAlchemyError):
        return None
    where = f"the database at {url}" if url else "the database"
    if isinstance(error, sql.DBAPIError):
        said = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "no answer"
        return f"cannot use {where}: {said}"
    return f"cannot use {where}: {str(error).splitlines()[0]}"
