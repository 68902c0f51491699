"""Reproducible builds: the locks pin every dependency pyproject.toml declares, within its range and
with hashes; the image installs from the lock on a pinned base as a fixed non-root user; the build
context leaves out what the image must not hold; the wheel ships the example configuration."""

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.prometheus_tools import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
EXAMPLE = "casewatch/examples/casewatch.example.yaml"


def pins(lock: Path) -> dict[str, str]:
    """name -> pinned version; every pin must carry at least one hash."""
    text = lock.read_text()
    found: dict[str, str] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if match:
            assert "--hash=sha256:" in block, f"{lock.name}: {match[1]} has no hash"
            found[canonicalize_name(match[1])] = match[2]
    return found


@pytest.mark.parametrize(
    ("lock", "declared"),
    [
        (RUNTIME_LOCK, PYPROJECT["project"]["dependencies"]),
        (DEV_LOCK, PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["dev"]),
    ],
    ids=["runtime", "dev"],
)
def test_the_lock_pins_every_declared_dependency_within_its_range(lock: Path, declared: list[str]) -> None:
    pinned = pins(lock)
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock.name} lacks {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock.name} pins {name}=={pinned[name]}, outside {requirement.specifier}: run `make lock`"
        )


def test_the_image_and_the_tests_run_the_same_versions() -> None:
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_dockerfile_builds_from_the_lock_on_pinned_bases_as_a_fixed_non_root_user() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE, re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base[1]), base
    froms = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert len(froms) == 2 and set(froms) == {"${PYTHON_IMAGE}"}, froms  # multi-stage, one pinned base
    assert "pip install --require-hashes -r requirements.lock" in DOCKERFILE
    assert re.search(r"pip install --no-deps /wheels/casewatch-", DOCKERFILE)
    assert "COPY --from=builder /opt/casewatch /opt/casewatch" in DOCKERFILE
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert users == ["10001:10001"], users  # numeric: Kubernetes' runAsNonRoot can check it
    healthcheck = re.search(r"^HEALTHCHECK .*\n.*CMD (.*)$", DOCKERFILE, re.M)
    assert healthcheck and "/healthz" in healthcheck[1] and "python" in healthcheck[1]


def test_the_build_context_leaves_out_history_environments_tests_and_local_data() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for entry in (".venv/", ".git/", "tests/", "docs/", "*.db", ".casewatch/", ".env", "secrets/", ".mypy_cache/"):
        assert entry in ignored, entry
    for needed in ("casewatch/", "schemas/", "streams/", "agents/", "pyproject.toml", "README.md", "requirements.lock"):
        assert needed not in ignored, needed


def test_the_wheel_ships_the_example_configuration(tmp_path: Path) -> None:
    source = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("schemas", "streams", "agents", "casewatch"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # No build isolation: setuptools comes from the dev lock, so the test needs no index.
    wheel_command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    built = subprocess.run(
        [*wheel_command, "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("casewatch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(EXAMPLE) == (ROOT / EXAMPLE).read_bytes()
