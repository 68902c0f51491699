"""The alerts a deployment stored, with what managers did with them (the report's section 4)."""

from sqlalchemy import Engine, select

from agents.report_figures import TrackedAlert
from casewatch.delivery.tables import alert_lifecycle
from casewatch.storage import alerts_table, reading
from schemas.alerts import Alert


def stored_alerts(engine: Engine) -> list[TrackedAlert]:
    """Every stored alert (latest version), its lifecycle status ("open" when none is recorded yet)
    and, when resolved, the outcome recorded (never the resolver's note)."""
    query = select(alerts_table.c.payload, alert_lifecycle.c.status, alert_lifecycle.c.outcome).select_from(
        alerts_table.outerjoin(alert_lifecycle, alert_lifecycle.c.alert_id == alerts_table.c.alert_id)
    )
    with reading(engine) as connection:
        rows = connection.execute(query).all()
    return [
        TrackedAlert(Alert.model_validate_json(payload), status or "open", outcome) for payload, status, outcome in rows
    ]
