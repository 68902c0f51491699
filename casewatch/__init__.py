"""casewatch: watches children's social care case events and tells managers in time."""

__version__ = "0.1.0"
