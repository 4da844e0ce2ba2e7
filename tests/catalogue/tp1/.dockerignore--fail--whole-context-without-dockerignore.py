"""Copies the whole folder (COPY . .) and hands in no .dockerignore: notebooks, MLflow runs and all go to the build.

cells: dockerfile_tests
loses: dockerfile_keeps_the_build_context_small

apply: edit
"""

TEXT_0 = r"""# The TP1 digit classifier as an image: docker build -t mnist-api . && docker run -p 8000:8000 mnist-api
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODEL_PATH=/app/mnist_dense.keras

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin api

COPY . .

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "60", "app:app"]
"""


def edit(folder):
    (folder / "Dockerfile").write_text(TEXT_0)
    (folder / ".dockerignore").unlink()
