"""docker-compose.yml holds together with the rest of deploy/: it is valid against the Compose
Specification, what it mounts exists, every long-running service restarts and is health-checked,
every service is limited, images are pinned, secrets are files and never values, every casewatch
process waits for the migrations, Kafka's clients sign in over TLS and nothing on the network
speaks plaintext to it, Prometheus scrapes the services that serve metrics on the ports they
serve them, and .env.example names every variable the file uses.

No Docker engine runs in the tests: these are the checks that can be made without one."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from casewatch.roles import ROLES
from tests.prometheus_tools import PROMETHEUS_DIR, ROOT

COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
PINNED = r"[\w./-]+:v?\d+\.\d+(\.\d+)?(-[a-z]+)?"  # a version tag, perhaps with its base (16.4-bookworm)
ONE_SHOT = {"kafka-certs", "migrate", "topics"}
CASEWATCH = {name for name, service in SERVICES.items() if "build" in service}
# The Compose Specification's JSON schema (compose-spec/compose-spec, schema/compose-spec.json,
# Apache-2.0), kept beside this test so that it runs without a network.
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
KAFKA_DIR = ROOT / "deploy" / "kafka"


def test_the_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(SCHEMA)
    assert [error.message for error in validator.iter_errors(COMPOSE)] == []
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["worker"]["restart_policy"] = "always"  # not a Compose key: the schema must say so
    assert not validator.is_valid(broken)


def test_every_service_restarts_is_health_checked_and_has_resource_limits() -> None:
    for name, service in SERVICES.items():
        assert set(service["deploy"]["resources"]["limits"]) == {"cpus", "memory"}, name
        if name in ONE_SHOT:  # runs once and exits: no restart, nothing to probe
            assert service["restart"] == "no" and service["healthcheck"] == {"disable": True}, name
        else:
            assert service.get("restart") == "unless-stopped", name
            assert service.get("healthcheck", {}).get("test"), name


def test_images_are_pinned_and_casewatch_is_built_here() -> None:
    for name, service in SERVICES.items():
        if "build" in service:
            continue
        image = service["image"]
        assert re.fullmatch(PINNED, image), f"{name}: {image} is not pinned to a version"
    assert {"worker", "store", "dispatcher", "serve", "migrate", "topics"} == CASEWATCH


def test_every_bind_mount_names_a_file_or_folder_of_the_repository() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume.split(":")[0])
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_every_casewatch_process_of_the_database_waits_for_the_migrations() -> None:
    for name in CASEWATCH - {"migrate"}:
        if name in ("topics", "worker"):
            continue  # they touch Kafka only (the worker runs `--role correlate`)
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert SERVICES["migrate"]["command"] == ["migrate"]
    for name in ("worker", "store", "serve"):
        assert SERVICES[name]["depends_on"]["topics"] == {"condition": "service_completed_successfully"}, name


def test_secrets_are_files_named_by_file_variables_and_never_values() -> None:
    declared = COMPOSE["secrets"]
    for name, secret in declared.items():
        assert secret == {"file": f"${{CASEWATCH_SECRETS_DIR:-./secrets}}/{name}"}, name
    secretish = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY$|DATABASE_URL|WEBHOOK")
    for name, service in SERVICES.items():
        mounted = set(service.get("secrets", []))
        assert mounted <= set(declared), name
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                assert str(value).removeprefix("/run/secrets/") in mounted, f"{name}: {variable} is not mounted"
            elif not (variable.endswith("_FILE") and value == ""):  # "": that secret is not used here
                assert not secretish.search(variable), f"{name}: {variable} holds a secret as a value"
    # No secret interpolated from .env either (the folder of the secret files is not one).
    assert set(re.findall(r"\$\{([A-Z_]*(?:PASSWORD|TOKEN|SECRET|KEY)[A-Z_]*)[:}]", COMPOSE_TEXT)) <= {
        "CASEWATCH_SECRETS_DIR"
    }
    expected = {
        "CASEWATCH_DATABASE_URL_FILE",
        "KAFKA_SASL_PASSWORD_FILE",
        "CASEWATCH_API_TOKENS_FILE",
        "CASEWATCH_SESSION_KEY_FILE",
        "CASEWATCH_ERASURE_KEY_FILE",
    }
    assert expected <= set(SERVICES["serve"]["environment"])
    assert SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres-password"
    alertmanager = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    (ops,) = [r for r in alertmanager["receivers"] if r["name"] == alertmanager["route"]["receiver"]]
    (teams,) = ops["msteamsv2_configs"]
    assert teams["webhook_url_file"].removeprefix("/run/secrets/") in SERVICES["alertmanager"]["secrets"]


def broker_properties() -> dict[str, str]:
    lines = (KAFKA_DIR / "server.properties").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_kafka_clients_sign_in_over_tls_and_nothing_on_the_network_speaks_plaintext() -> None:
    properties = broker_properties()
    protocols = dict(pair.split(":") for pair in properties["listener.security.protocol.map"].split(","))
    for listener in properties["listeners"].split(","):
        name, address = listener.split("://")
        if protocols[name] != "SASL_SSL":
            assert address.startswith("127.0.0.1:"), f"{name} speaks {protocols[name]} beyond the container"
    (client,) = [name for name, protocol in protocols.items() if protocol == "SASL_SSL"]
    advertised = dict(listener.split("://") for listener in properties["advertised.listeners"].split(","))
    for name in CASEWATCH:
        environment = SERVICES[name]["environment"]
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == advertised[client], name
        assert environment["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert environment["KAFKA_SASL_MECHANISM"] in properties["sasl.enabled.mechanisms"].split(","), name
        ca = Path(environment["KAFKA_SSL_CA_FILE"])
        assert f"kafka-certs:{ca.parent}:ro" in SERVICES[name]["volumes"], name
    assert "kafka-certs:/etc/kafka/secrets:ro" in SERVICES["kafka"]["volumes"]
    assert properties["ssl.keystore.location"].startswith("/etc/kafka/secrets/")
    assert "kafka-password" in SERVICES["kafka"]["secrets"]
    assert "ports" not in SERVICES["kafka"]


def test_prometheus_scrapes_the_worker_replicas_and_the_dispatcher_on_their_metrics_ports() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    scraped = {job["job_name"]: job["dns_sd_configs"][0] for job in config["scrape_configs"]}
    assert scraped["casewatch-worker"]["names"] == ["worker", "store"]
    assert (
        SERVICES["store"]["environment"]["CASEWATCH_METRICS_PORT"]
        == SERVICES["worker"]["environment"]["CASEWATCH_METRICS_PORT"]
    )  # one job, one port
    assert scraped["casewatch-worker"]["port"] == int(SERVICES["worker"]["environment"]["CASEWATCH_METRICS_PORT"])
    assert scraped["casewatch-dispatcher"]["names"] == ["dispatcher"]
    command = SERVICES["dispatcher"]["command"]
    assert scraped["casewatch-dispatcher"]["port"] == int(command[command.index("--metrics-port") + 1])
    for service, port in (("worker", 9108), ("store", 9108), ("dispatcher", 9109)):
        assert f"127.0.0.1:{port}/readyz" in str(SERVICES[service]["healthcheck"]["test"])


def test_env_example_names_every_variable_the_compose_file_uses() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_TEXT))
    example = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used and used <= example, sorted(used - example)


def test_the_worker_runs_the_agents_and_a_store_process_writes_the_database() -> None:
    roles = {}
    for name in ("worker", "store"):
        command = SERVICES[name]["entrypoint"][-1].split("exec ", 1)[1].split()
        assert command[:2] == ["casewatch", "worker"], name
        roles[name] = command[command.index("--role") + 1]
    assert roles == {"worker": "correlate", "store": "store"} and set(roles.values()) <= set(ROLES)
    # The agents never open the database: its URL is neither mounted nor named for them.
    assert "database-url" not in SERVICES["worker"]["secrets"]
    assert SERVICES["worker"]["environment"]["CASEWATCH_DATABASE_URL_FILE"] == ""
    assert not {"postgres", "migrate"} & set(SERVICES["worker"]["depends_on"])
    assert "database-url" in SERVICES["store"]["secrets"]
