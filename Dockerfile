# syntax=docker/dockerfile:1
# Every Nivaran image, one per deployable, from the repository root (the uv workspace):
#
#   docker build --build-arg SERVICE=routing  -t nivaran-routing:0.1.0 .     # also identity, intake, notify, sla
#   docker build --build-arg SERVICE=gateway --build-arg SOURCE_DIR=gateway -t nivaran-gateway:0.1.0 .
#
# SERVICE names the workspace package nivaran-<SERVICE> and the module the image runs, `python -m nivaran_<SERVICE>`
# (Kubernetes overrides it for sla-worker and mail-inbound with `command:`). SOURCE_DIR is where that package lives.
# The process runs as uid/gid 10001, the numbers deploy/k8s's pods set in runAsUser / runAsGroup. Linted by
# hadolint in tests/test_k8s_overlays.py; deploy/k8s/README.md lists the images.

# The base image of both stages. A release may pin it by digest: --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:...
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ARG SOURCE_DIR=services/${SERVICE}
# uv only in this stage: the final image has no package manager of the project's and no compiler.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app

# Third-party dependencies first, from the lock alone, so that a source change does not reinstall them.
COPY pyproject.toml uv.lock ./
COPY proto/pyproject.toml proto/
COPY libs/common/pyproject.toml libs/common/
COPY ${SOURCE_DIR}/pyproject.toml ${SOURCE_DIR}/
RUN --mount=type=cache,target=/root/.cache/uv \
    test -n "${SERVICE}" \
 && uv sync --frozen --no-dev --no-install-workspace --package "nivaran-${SERVICE}"

# The workspace packages stay editable installs on purpose: a service finds alembic.ini and migrations/ beside its
# source (SERVICE_ROOT), so the source tree must be at the same path in the final image.
COPY proto/ proto/
COPY libs/common/ libs/common/
COPY ${SOURCE_DIR}/ ${SOURCE_DIR}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "nivaran-${SERVICE}" \
 && /app/.venv/bin/python -m compileall -q proto libs "${SOURCE_DIR}"

FROM ${PYTHON_IMAGE}
ARG SERVICE
# notify renders documents: WeasyPrint's Pango, HarfBuzz's font subsetter, and the Noto fonts (Devanagari and Latin).
# Versions are the base image's Debian release's (its security updates included), hence no pins.
# hadolint ignore=DL3008
RUN if [ "${SERVICE}" = notify ]; then \
      apt-get update \
   && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core \
   && rm -rf /var/lib/apt/lists/*; \
    fi
# The project's own venv (/app/.venv) needs no pip: the base image's goes, with setuptools and wheel.
RUN python -m pip uninstall --no-cache-dir -y pip setuptools wheel \
 && groupadd --system --gid 10001 nivaran \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nivaran
WORKDIR /app
# Owned by root: the service user can read the code but not change it (the pod's root filesystem is read-only too).
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NIVARAN_MODULE=nivaran_${SERVICE}
USER 10001:10001
# The shell only reads NIVARAN_MODULE: `exec` makes python PID 1, so SIGTERM reaches the graceful shutdown.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"${NIVARAN_MODULE}\" \"$@\"", "nivaran"]
