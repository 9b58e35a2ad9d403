# sellsync: one image for the web process, the worker and the release step (compose.yaml).
# Slim, non-root, and healthy only when /healthz answers 200 (database reachable).
#
#   docker build -t sellsync .
#   docker run --env-file .env -p 3000:3000 sellsync               # web: sellsync serve --no-scheduler
#   docker run --env-file .env sellsync sellsync worker             # the scheduler (one per deployment)
#   docker run --env-file .env sellsync sellsync check              # preflight
#
# The dependencies are the pinned, hash-checked versions of requirements.lock (how to refresh it:
# docs/operations.md, "Upgrades"); the project itself is installed without resolving anything.
# With the default SQLite DATABASE_URL the database lives in the container and goes with it:
# mount a volume (-v sellsync-data:/app/data -e DATABASE_URL=sqlite:////app/data/sellsync.db)
# or use PostgreSQL (compose.yaml).

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY sync ./sync
COPY storage ./storage
COPY sandbox ./sandbox
COPY demo ./demo
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000
RUN useradd --create-home --home-dir /app --uid 10001 sellsync
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-deps --require-hashes -r /tmp/requirements.lock && rm /tmp/requirements.lock
COPY --from=build /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels && pip check
USER sellsync
# owned by sellsync, so a volume mounted here is writable (the SQLite file, see above)
RUN mkdir /app/data
WORKDIR /app
EXPOSE 3000
# The worker has no HTTP port: compose.yaml checks its heartbeat instead (`sellsync worker
# --healthcheck`) and turns the check off for the release step.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]
CMD ["sellsync", "serve", "--no-scheduler"]
