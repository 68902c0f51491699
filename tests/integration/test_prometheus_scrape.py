"""A real Prometheus (Debian's binary) scrapes a real `casewatch worker` and `casewatch dispatch`,
with the rules of deploy/prometheus loaded: every dashboard expression returns data, every
series a rule reads exists, every rule evaluates cleanly, and both processes answer /healthz
and /readyz on their metrics port.

The expressions are read from the dashboard JSON and the rules YAML, so a new panel or rule
is covered without touching this test.
"""

import json
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from casewatch.local_kafka import free_port
from tests.integration.support import Deployment, running_worker, terminate, wait_until
from tests.integration.test_worker_end_to_end import AGREEMENT, REFERRAL, publish
from tests.prometheus_tools import PROMETHEUS_DIR, binary, dashboard_expressions, rule_expressions, selectors
from tests.test_delivery.support import DispatcherProcess

# A quick clock, so the lag and watermark gauges are set within seconds.
CONFIG = "rules:\n  timer_seconds: 2\n  quiet_seconds: 2\n"


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def prometheus_server(folder: Path, targets: dict[str, int]) -> Iterator[str]:
    """Prometheus on a free 127.0.0.1 port, scraping each job's port every second, with the rules."""
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROMETHEUS_DIR / "alerts.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]} for job, port in targets.items()
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = folder / "prometheus.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [binary("prometheus"), f"--config.file={folder / 'prometheus.yml'}",
             f"--storage.tsdb.path={folder / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200, 60,
                   lambda: log.read_text(errors="replace")[-3000:])  # fmt: skip
        yield url
    finally:
        terminate(process)


def query(url: str, expression: str) -> list[Any]:
    status, body = get(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
    assert status == 200 and body["status"] == "success", f"{expression}: {body}"
    return list(body["data"]["result"])


def test_prometheus_scraping_a_worker_and_a_dispatcher_has_data_for_every_panel_and_rule(
    deployment: Deployment, tmp_path: Path
) -> None:
    binary("prometheus")  # skip (or fail under CI) before starting anything
    config = tmp_path / "casewatch.yaml"
    config.write_text(CONFIG)
    deployment = deployment.with_config(config)
    dispatcher_port = free_port()
    dispatcher = DispatcherProcess(deployment.env, tmp_path / "dispatcher.log", metrics_port=dispatcher_port).start()
    worker_port = deployment.settings.metrics_port
    try:
        with running_worker(deployment) as worker:
            for port in (worker_port, dispatcher_port):  # alive at once; ready once working
                wait_until(lambda port=port: get(f"http://127.0.0.1:{port}/healthz")[0] == 200, 60, dispatcher.describe)
                wait_until(lambda port=port: get(f"http://127.0.0.1:{port}/readyz")[0] == 200, 90,
                           lambda: worker.describe() + dispatcher.describe())  # fmt: skip
            assert get(f"http://127.0.0.1:{worker_port}/readyz") == (200, {"status": "ready"})
            publish(deployment, AGREEMENT, REFERRAL)
            # The alert is stored and its notification sent: every histogram and counter has moved.
            wait_until(lambda: worker.metric("casewatch_alerts_persisted_total") >= 1, 90, worker.describe)

            with prometheus_server(tmp_path, {"casewatch-worker": worker_port,
                                              "casewatch-dispatcher": dispatcher_port}) as url:  # fmt: skip
                panels = dashboard_expressions()
                read = {f"{name}: {s}": s for name, expression in rule_expressions().items()
                        for s in selectors(expression)}  # fmt: skip
                wanted = {**panels, **read}
                assert len(panels) >= 20 and len(read) >= 12

                def empty() -> list[str]:
                    return [name for name, expression in wanted.items() if not query(url, expression)]

                missing: list[str] = []

                def complete() -> bool:
                    missing[:] = empty()
                    return not missing

                wait_until(complete, 120, lambda: f"no data for {missing}\n{worker.describe()}")

                for expression in rule_expressions().values():
                    query(url, expression)  # evaluates (an empty answer is a rule not firing)

                def evaluated() -> dict[str, Any]:
                    """The loaded rules, once each has been evaluated (never: a zero time, year 0001)."""
                    rules = {rule["name"]: rule for group in get(f"{url}/api/v1/rules")[1]["data"]["groups"]
                             for rule in group["rules"]}  # fmt: skip
                    done = all(not rule["lastEvaluation"].startswith("0001") for rule in rules.values())
                    return rules if rules and done else {}

                rules = wait_until(evaluated, 60)
                assert set(rules) == set(rule_expressions())
                assert {name: rule["health"] for name, rule in rules.items() if rule["health"] != "ok"} == {}
                for healthy in ("CasewatchWorkerDown", "CasewatchDispatcherDown", "CasewatchNoEvents"):
                    assert rules[healthy]["state"] == "inactive", rules[healthy]
    finally:
        dispatcher.stop()
