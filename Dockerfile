# connectors-mock in a container: `docker build -t connectors-mock .`, then
#   docker run --rm -p 8080:8080 connectors-mock                 # serve, with the built-in fixtures
#   docker run --rm -p 8080:8080 connectors-mock serve --seed 1  # any serve option
#   docker run --rm connectors-mock verify https://staging.example.com --api-key "$KEY"
# The base needs only python3 with venv: the official slim image, or one built from Debian's
# packages (tests/container/). Run `mkdocs build` before building to serve the guide too; an
# install from the checkout (`pip install -e .`, with npm) puts Swagger UI in for `/docs`.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml hatch_build.py README.md openapi.yaml ./
COPY src ./src
COPY fixtures ./fixtures
COPY scenarios ./scenarios
RUN python3 -m venv /tmp/build \
    && /tmp/build/bin/pip install --no-cache-dir --quiet --disable-pip-version-check hatchling \
    && /tmp/build/bin/pip wheel --no-cache-dir --quiet --disable-pip-version-check --no-deps --no-build-isolation -w /dist .

FROM ${BASE_IMAGE}
COPY --from=build /dist /dist
# The package, with the contract suite for `verify`, in a venv of its own; the wheel is not kept.
RUN python3 -m venv /opt/connectors-mock \
    && /opt/connectors-mock/bin/pip install --no-cache-dir --quiet --disable-pip-version-check "$(ls /dist/*.whl)[contract]" \
    && rm -r /dist \
    && mkdir -p /data && chown 10001:10001 /data
ENV PATH=/opt/connectors-mock/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONNECTORS_MOCK_HOST=0.0.0.0 \
    CONNECTORS_MOCK_PORT=8080
# Any user but root; the state, if kept (--state-file /data/state.json), goes to the volume.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('CONNECTORS_MOCK_PORT', '8080')}/_mock/health\", timeout=2)"]
ENTRYPOINT ["connectors-mock"]
CMD ["serve"]
