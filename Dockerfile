# syntax=docker/dockerfile:1
# ils-gateway: a small runtime image (docs/deploy.md).
#
#   docker build -t ils-gateway .
#   docker run --rm -p 8080:8080 ils-gateway                    # the embedded demo library
#   docker run --rm -p 8080:8080 -v ./tenants.toml:/etc/ils-gateway/tenants.toml:ro \
#       -e ILS_GATEWAY_STORE_SECRET=... ils-gateway --config /etc/ils-gateway/tenants.toml
#
# Two stages: "build" makes the project's wheel and installs it, with its runtime dependencies
# only (no extras: no pytest, no test tools), into a virtual environment; "runtime" copies that
# environment onto a clean slim base and runs as an unprivileged user. Both stages use the same
# base image, so the environment's interpreter paths match.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A C compiler for the SIP2 parser's compiled helpers (hatch_build.py; without one the wheel
# is pure Python and parses SIP2 about 3x slower). Only this stage has it: the runtime stage
# copies the built environment, whose extension needs nothing but libc.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md hatch_build.py ./
COPY src ./src
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/ils-gateway \
 && /opt/ils-gateway/bin/python -m pip install /wheels/ils_gateway-*.whl \
 && /opt/ils-gateway/bin/python -m pip uninstall --yes pip \
 && /opt/ils-gateway/bin/ils-gateway --help > /dev/null

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="ils-gateway" \
      org.opencontainers.image.description="One patron API over any library system" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/ils-gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A fixed numeric user, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /srv/ils-gateway --no-create-home \
        --shell /usr/sbin/nologin gateway \
 && mkdir -p /srv/ils-gateway/var /etc/ils-gateway \
 && chown -R 10001:10001 /srv/ils-gateway \
 && chmod 0700 /srv/ils-gateway/var
COPY --from=build /opt/ils-gateway /opt/ils-gateway
# The default store is ./var/ils-gateway.sqlite3 with its generated dev secret beside it:
# keep both on a volume. With ILS_GATEWAY_STORE_URL (PostgreSQL) and ILS_GATEWAY_STORE_SECRET
# set, nothing is written here.
WORKDIR /srv/ils-gateway
VOLUME ["/srv/ils-gateway/var"]
USER 10001:10001
EXPOSE 8080
# Liveness without curl: the image's own Python asks /healthz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
# Arguments given to `docker run IMAGE …` are added to serve's (the last --port wins);
# the simulators: `docker run --entrypoint ils-gateway IMAGE simulate sip2 --host 0.0.0.0`.
ENTRYPOINT ["ils-gateway", "serve", "--host", "0.0.0.0", "--port", "8080"]
