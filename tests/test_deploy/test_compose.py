"""docker-compose.yml holds together with the rest of deploy/: what it mounts exists, every
service restarts, is health-checked and limited, images are pinned, Prometheus scrapes the
services that serve metrics on the ports they serve them, and .env.example names every
variable the file needs."""

import re
from typing import Any

import yaml

from tests.prometheus_tools import PROMETHEUS_DIR, ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
PINNED = r"[\w./-]+:v?\d+\.\d+(\.\d+)?(-[a-z]+)?"  # a version tag, perhaps with its base (16.4-bookworm)


def test_every_service_restarts_is_health_checked_and_has_resource_limits() -> None:
    for name, service in SERVICES.items():
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name
        assert set(service["deploy"]["resources"]["limits"]) == {"cpus", "memory"}, name


def test_images_are_pinned_and_casewatch_is_built_here() -> None:
    for name, service in SERVICES.items():
        if "build" in service:
            continue
        image = service["image"]
        assert re.fullmatch(PINNED, image), f"{name}: {image} is not pinned to a version"
    assert {name for name, service in SERVICES.items() if "build" in service} == {"worker", "dispatcher", "serve"}


def test_every_bind_mount_names_a_file_or_folder_of_the_repository() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume.split(":")[0])
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_prometheus_scrapes_the_worker_replicas_and_the_dispatcher_on_their_metrics_ports() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    scraped = {job["job_name"]: job["dns_sd_configs"][0] for job in config["scrape_configs"]}
    assert scraped["casewatch-worker"]["names"] == ["worker"]
    assert scraped["casewatch-worker"]["port"] == int(SERVICES["worker"]["environment"]["CASEWATCH_METRICS_PORT"])
    assert scraped["casewatch-dispatcher"]["names"] == ["dispatcher"]
    command = SERVICES["dispatcher"]["command"]
    assert scraped["casewatch-dispatcher"]["port"] == int(command[command.index("--metrics-port") + 1])
    for service, port in (("worker", 9108), ("dispatcher", 9109)):
        assert f"127.0.0.1:{port}/readyz" in str(SERVICES[service]["healthcheck"]["test"])


def test_env_example_names_every_variable_the_compose_file_requires() -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (ROOT / "docker-compose.yml").read_text()))
    example = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert required and required <= example, sorted(required - example)
