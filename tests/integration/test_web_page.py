"""The managers' page in a real headless Chromium, against a running `casewatch serve`.

A manager of one team signs in, sees only that team's children, filters the worklist,
opens a child's timeline (its case events, whichever team recorded them, and the team's
alerts), acknowledges and resolves an alert with an outcome, and finds their name in its
history; a child is seen by the managers of the teams holding its events or alerts; a viewer
has no action buttons and is refused when it posts anyway; an ingest token cannot sign in,
and gets 403 on every lifecycle and silence route.
With CASEWATCH_SCREENSHOTS set to a folder (docs/ for docs/web.md), the pages are saved there.
"""

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from agents.timeline import timeline_row
from casewatch.storage import connect, upsert_alerts
from casewatch.timeline import store_timeline
from schemas.events import Assessment, CaseEvent, Referral, WrittenAgreement
from streams.admin import ensure_topics
from tests.alerts import make_alert
from tests.integration.browser import chromium
from tests.integration.http_support import TOKENS, Api, running_server
from tests.integration.support import Deployment
from tests.role_matrix import role_matrix

WAIT = 30  # seconds, an upper bound for a page to load on a busy machine


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


LINK = "https://lcs.example.gov.uk/child/{}"
REREFERRAL = make_alert("web-a1", child_id="C-east-1", day=days_ago(2), link=LINK.format("C-east-1"))
REVIEW = make_alert("web-a2", rule="agreement_review_overdue", severity="medium", child_id="C-east-1",
                    day=days_ago(20), facts={"agreement_id": "wa-7", "review_due": days_ago(33), "days_overdue": 13},
                    link=LINK.format("C-east-1"))  # fmt: skip
REPEATED = make_alert("web-a3", rule="repeated_agreements", severity="medium", child_id="C-east-2",
                      day=days_ago(10), facts={"agreements": 3, "window_months": 12})  # fmt: skip
WEST = make_alert("web-a4", child_id="C-west-1", team="CIN West", day=days_ago(3))


def when(n: int) -> dict[str, object]:
    at = datetime.fromisoformat(days_ago(n)).replace(tzinfo=UTC)  # the alerts' time: the day's start
    return {"occurred_at": at, "recorded_at": at, "source": "lcs", "schema_version": 1}


# C-east-1's case events as the worker stores them (tests/integration/test_worker_end_to_end.py
# checks a real worker does): the front door's referrals, CIN East's assessment and agreement.
EVENTS: list[CaseEvent] = [
    Referral(event_id="lcs:ref-1", child_id="C-east-1", team="Front Door", referral_source="5D", **when(90)),
    Assessment(event_id="lcs:as-1", child_id="C-east-1", team="CIN East", assessment_id="as-1",
               factors=["3A", "16A"], **when(70)),
    WrittenAgreement(event_id="lcs:wa-7:made", child_id="C-east-1", team="CIN East", agreement_id="wa-7",
                     action="made", review_due=date.fromisoformat(days_ago(33)), agreement_type="working_agreement",
                     **when(60)),
    WrittenAgreement(event_id="lcs:wa-7:breached", child_id="C-east-1", team="CIN East", agreement_id="wa-7",
                     action="breached", **when(25)),
    Referral(event_id="lcs:web-a1", child_id="C-east-1", team="Front Door", referral_source="2A", **when(2)),
    # A child with events only: of CIN East's, and of CIN West's alone (not the east manager's).
    Referral(event_id="lcs:ref-e3", child_id="C-east-3", team="CIN East", referral_source="1A", **when(5)),
    Referral(event_id="lcs:ref-w2", child_id="C-west-2", team="CIN West", referral_source="1A", **when(5)),
]  # fmt: skip


@pytest.fixture(scope="module")
def api(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    deployment = Deployment.create(kafka_bootstrap, tmp_path_factory.mktemp("web"))
    ensure_topics(kafka_bootstrap, deployment.settings.topics)
    engine = connect(deployment.settings.database_url)
    upsert_alerts(engine=engine, alerts=[REREFERRAL, REVIEW, REPEATED, WEST])
    store_timeline(engine=engine, rows=[timeline_row(event) for event in EVENTS])
    with running_server(deployment) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def base(api: Api) -> str:
    return f"http://{api.host}:{api.port}"


def sign_in(browser: webdriver.Chrome, api: Api, token: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base(api)}/ui/sign-in")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "#sign-in button").click()
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.ID, "who") or d.find_elements(By.ID, "error"))


def children_listed(browser: webdriver.Chrome) -> list[str]:
    return [row.get_attribute("data-child") or "" for row in browser.find_elements(By.CSS_SELECTOR, "tr.line")]


def screenshot(browser: webdriver.Chrome, name: str) -> None:
    folder = os.environ.get("CASEWATCH_SCREENSHOTS")
    if folder:
        browser.save_screenshot(str(Path(folder) / f"web-{name}.png"))


def click_and_wait(browser: webdriver.Chrome, selector: str) -> None:
    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.TAG_NAME, "html") != old)


def test_a_manager_sees_their_team_acts_on_an_alert_and_is_named_in_its_history(
    api: Api, browser: webdriver.Chrome
) -> None:
    sign_in(browser, api, TOKENS["east.manager"])
    assert browser.current_url.endswith("/ui/worklist")
    assert "east.manager" in browser.find_element(By.ID, "who").text
    # One line per child, highest severity first; the other team's child is not there.
    assert children_listed(browser) == ["C-east-1", "C-east-2"]
    assert "C-west-1" not in browser.page_source
    screenshot(browser, "worklist")

    Select(browser.find_element(By.NAME, "severity")).select_by_value("medium")
    Select(browser.find_element(By.NAME, "age")).select_by_value("7")
    click_and_wait(browser, "#filters button")
    assert children_listed(browser) == []  # both medium findings are older than a week
    assert urlsplit(browser.current_url).query == "team=&rule=&severity=medium&status=&age=7"  # codes, no person
    Select(browser.find_element(By.NAME, "age")).select_by_value("30")
    click_and_wait(browser, "#filters button")
    assert children_listed(browser) == ["C-east-2", "C-east-1"]  # newest first at equal severity

    browser.get(f"{base(api)}/ui/worklist")
    click_and_wait(browser, 'a.child[href="/ui/children/C-east-1"]')
    # Newest first, the alerts merged with the events; each alert above the event it was raised on.
    entries = browser.find_elements(By.CSS_SELECTOR, "#timeline li.entry")
    assert [e.find_element(By.CSS_SELECTOR, ".kind").text for e in entries] == [
        "ALERT", "REFERRAL", "ALERT", "AGREEMENT BREACHED", "AGREEMENT MADE", "ASSESSMENT", "REFERRAL"]  # fmt: skip
    alerts = browser.find_elements(By.CSS_SELECTOR, "#timeline li.alert-entry")
    assert [e.find_element(By.CSS_SELECTOR, "a.alert").text for e in alerts] == [
        "rereferral_after_agreement", "agreement_review_overdue"]  # fmt: skip
    assert [e.find_element(By.CSS_SELECTOR, ".events").text for e in alerts] == ["lcs:web-a1", "lcs:web-a2"]
    events = {e.get_attribute("data-event"): e for e in browser.find_elements(By.CSS_SELECTOR, "li.event-entry")}
    referral, made = events["lcs:web-a1"], events["lcs:wa-7:made"]
    assert referral.find_element(By.TAG_NAME, "time").text == days_ago(2)
    assert referral.find_element(By.CSS_SELECTOR, ".team").text == "Front Door"  # another team's event, shown
    assert referral.find_element(By.CSS_SELECTOR, '[data-code="referral_source"]').text == "2A"
    assert made.find_element(By.CSS_SELECTOR, ".item").text == "wa-7"
    assert made.find_element(By.CSS_SELECTOR, '[data-code="review_due"]').text == days_ago(33)
    assert made.find_element(By.CSS_SELECTOR, '[data-code="agreement_type"]').text == "working_agreement"
    assert events["lcs:as-1"].find_element(By.CSS_SELECTOR, '[data-code="factors"]').text == "16A, 3A"
    assert made.find_element(By.CSS_SELECTOR, "a.case").get_attribute("href") == LINK.format("C-east-1")
    assert browser.find_element(By.ID, "case-link").get_attribute("href") == LINK.format("C-east-1")
    screenshot(browser, "timeline")

    click_and_wait(browser, f'a.alert[href="/ui/alerts/{REREFERRAL.alert_id}"]')
    assert browser.find_element(By.ID, "status").text == "open"
    click_and_wait(browser, "#ack button")
    assert browser.find_element(By.ID, "status").text == "acknowledged"
    Select(browser.find_element(By.ID, "outcome-choice")).select_by_visible_text("reviewed: proportionate")
    browser.find_element(By.ID, "note-text").send_keys("Discussed in supervision")
    screenshot(browser, "alert")
    click_and_wait(browser, "#resolve button")
    assert browser.find_element(By.ID, "status").text == "resolved"
    assert browser.find_element(By.ID, "outcome").text == "reviewed: proportionate"
    assert browser.find_element(By.ID, "note").text == "Discussed in supervision"
    history = [
        (row.find_element(By.CSS_SELECTOR, ".actor").text, row.find_element(By.CSS_SELECTOR, ".action").text)
        for row in browser.find_elements(By.CSS_SELECTOR, "#history tbody tr")
    ]
    assert history == [("east.manager", "acknowledge"), ("east.manager", "resolve")]
    assert "Discussed" not in browser.find_element(By.ID, "history").text  # the note is no audit entry
    # The resolved finding has left the worklist; the child is still there for its other finding.
    browser.get(f"{base(api)}/ui/worklist")
    assert children_listed(browser) == ["C-east-2", "C-east-1"]
    assert f"/ui/alerts/{REREFERRAL.alert_id}" not in browser.page_source


def test_a_child_is_seen_by_the_teams_holding_its_events_or_alerts(api: Api, browser: webdriver.Chrome) -> None:
    sign_in(browser, api, TOKENS["east.manager"])
    browser.get(f"{base(api)}/ui/children/C-east-3")  # CIN East's events alone, no alert: a timeline
    assert [e.get_attribute("data-event") for e in browser.find_elements(By.CSS_SELECTOR, "li.entry")] == [
        "lcs:ref-e3"]  # fmt: skip
    # C-west-2's events are CIN West's alone: not the east manager's child; C-east-1 is not the west manager's.
    assert api.sign_in(TOKENS["east.manager"]).get("/ui/children/C-west-2").status == 404
    west = api.sign_in(TOKENS["west.manager"])
    assert west.get("/ui/children/C-west-2").status == 200
    assert west.get("/ui/children/C-east-1").status == 404


def test_a_viewer_has_no_action_buttons_and_is_refused_when_it_posts_anyway(
    api: Api, browser: webdriver.Chrome
) -> None:
    sign_in(browser, api, TOKENS["east.viewer"])
    browser.get(f"{base(api)}/ui/alerts/{REPEATED.alert_id}")
    assert browser.find_element(By.ID, "explanation").text
    assert browser.find_elements(By.ID, "actions") == []
    assert browser.find_elements(By.CSS_SELECTOR, "main form") == []
    # Posting anyway, from the page with the session's own CSRF token: refused by role.
    status = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const csrf = document.querySelector('#sign-out input[name=csrf]').value;
        fetch(arguments[0], {method: 'POST', body: new URLSearchParams({csrf: csrf}), credentials: 'same-origin',
                             redirect: 'manual'}).then(r => done(r.status), e => done(String(e)));""",
        f"/ui/alerts/{REPEATED.alert_id}/ack",
    )
    assert status == 403
    history = api.request("GET", f"/v1/alerts/{REPEATED.alert_id}/history", token=TOKENS["dpo.officer"]).json()
    assert history["entries"] == []  # nothing changed


def test_an_ingest_token_cannot_sign_in_and_gets_403_on_every_lifecycle_and_silence_route(
    api: Api, browser: webdriver.Chrome
) -> None:
    sign_in(browser, api, TOKENS["feed.ingest"])
    assert "not for the page" in browser.find_element(By.ID, "error").text
    browser.get(f"{base(api)}/ui/alerts/{REPEATED.alert_id}")
    assert browser.current_url.endswith("/ui/sign-in")
    routes = [row for row in role_matrix() if row.path.startswith("/v1/") and ("/alerts/" in row.path or
              "/silences" in row.path)]  # fmt: skip
    assert len(routes) == 7
    for row in routes:
        path = row.path.format(alert_id=REPEATED.alert_id, id="1")
        answer = api.request(row.method, path, json.dumps({}).encode(), headers={"Content-Type": "application/json"},
                             token=TOKENS["feed.ingest"])  # fmt: skip
        assert answer.status == 403, (row.method, path, answer.status)
