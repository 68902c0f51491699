# The casewatch image: one image for the worker, the dispatcher, `serve` and the CLI.
#
# The base is pinned to an exact release. A tag can still be re-pushed; to pin the bytes, add
# the digest that `docker buildx imagetools inspect python:3.11.11-slim-bookworm` prints
# (FROM python:3.11.11-slim-bookworm@sha256:...). It is not written here because it cannot be
# looked up without the registry (docs/deployment.md, "Reproducible builds").
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# Builder: casewatch's wheel, and every dependency from the lock (pinned versions, checked hashes)
# into a virtual environment that the runtime stage copies whole.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/casewatch
COPY requirements.lock ./
RUN /opt/casewatch/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY agents ./agents
COPY casewatch ./casewatch
RUN /opt/casewatch/bin/pip wheel --no-deps -w /wheels . \
 && /opt/casewatch/bin/pip install --no-deps /wheels/casewatch-*.whl

# Runtime: the slim base, the virtual environment, a fixed non-root user (files on volumes and
# secrets keep one owner across rebuilds and hosts).
FROM ${PYTHON_IMAGE}
ARG UID=10001
ARG GID=10001
RUN groupadd --system --gid ${GID} casewatch \
 && useradd --system --uid ${UID} --gid ${GID} --home-dir /var/lib/casewatch --no-create-home casewatch \
 && mkdir -p /var/lib/casewatch \
 && chown ${UID}:${GID} /var/lib/casewatch
COPY --from=builder /opt/casewatch /opt/casewatch
ENV PATH=/opt/casewatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CASEWATCH_STATE_DIR=/var/lib/casewatch \
    CASEWATCH_METRICS_PORT=9108
WORKDIR /var/lib/casewatch
USER 10001:10001
# The worker's /healthz on its metrics port (casewatch/ops_http.py): alive, not necessarily ready.
# Slim has no curl; Python is there. docker-compose.yml gives each service its own check.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CASEWATCH_METRICS_PORT', '9108') + '/healthz', timeout=5)"]
ENTRYPOINT ["casewatch"]
CMD ["worker"]
