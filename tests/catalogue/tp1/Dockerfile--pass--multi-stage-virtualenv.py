"""A multi-stage build: dependencies in a virtual environment of a builder stage, a named user, ENTRYPOINT plus CMD.

cells: dockerfile_tests

apply: edit
"""

TEXT_0 = r"""# A builder stage installs into a virtual environment; the final stage copies it.
FROM python:3.11.9-slim-bookworm AS builder
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir -r requirements.txt

FROM python:3.11.9-slim-bookworm
ENV PATH=/venv/bin:$PATH MODEL_PATH=/srv/mnist_dense.keras
COPY --from=builder /venv /venv
RUN groupadd --system api && useradd --system --gid api --no-create-home api
WORKDIR /srv
COPY --chown=api:api app.py mnist_dense.keras ./
USER api:api
EXPOSE 8080
HEALTHCHECK CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://localhost:8080/health')"]
ENTRYPOINT ["gunicorn", "--bind", "0.0.0.0:8080"]
CMD ["--workers", "1", "app:app"]
"""


def edit(folder):
    (folder / "Dockerfile").write_text(TEXT_0)
