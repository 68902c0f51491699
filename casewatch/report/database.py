"""The alerts a deployment stored, with what managers did with them (the report's section 4)."""

from sqlalchemy import Engine, select

from agents.report_figures import TrackedAlert
from casewatch.delivery.tables import alert_lifecycle
from casewatch.storage import alerts_table
from schemas.alerts import Alert


def stored_alerts(engine: Engine) -> list[TrackedAlert]:
    """Every stored alert (latest version) and its lifecycle status ("open" when none is recorded yet)."""
    query = select(alerts_table.c.payload, alert_lifecycle.c.status).select_from(
        alerts_table.outerjoin(alert_lifecycle, alert_lifecycle.c.alert_id == alerts_table.c.alert_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [TrackedAlert(Alert.model_validate_json(payload), status or "open") for payload, status in rows]
