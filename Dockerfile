# The casewatch image: one image for the worker and the CLI.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY agents ./agents
COPY casewatch ./casewatch
RUN pip install --no-cache-dir . && useradd --system casewatch && mkdir /var/lib/casewatch && chown casewatch /var/lib/casewatch
USER casewatch
ENV CASEWATCH_STATE_DIR=/var/lib/casewatch
ENTRYPOINT ["casewatch"]
CMD ["worker"]
