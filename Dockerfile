# syntax=docker/dockerfile:1
# One image for the web server, the Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.12-slim

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH="/app/.venv/bin:$PATH" \
    DATA_DIR=/app/data

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock .python-version ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

COPY . .

# Hashed, compressed static files baked into the image; WhiteNoise serves them. DEBUG=1
# for this one command only: settings then need no secret, database or mail server (with
# DEBUG=0 they refuse to load without a real SECRET_KEY).
# The user has fixed ids so that a bind mount or a restored backup can be handed to it
# (`chown -R 10001:10001`). /app/data/media is created, owned by it, before any volume is
# mounted on /app/data: a new named volume takes the ownership of the directory it is
# mounted on, so web and worker can write uploads there from the first start.
# The app's own bytecode is compiled here too (UV_COMPILE_BYTECODE covers only the
# dependencies, and the code is read-only at run time): otherwise every process, each
# worker child included, compiles the whole site from source when it starts.
RUN DEBUG=1 STATIC_MANIFEST=1 python manage.py collectstatic --noinput -v0 \
    && python -m compileall -q -x '/\.venv/' /app \
    && groupadd --gid 10001 passerelle \
    && useradd --uid 10001 --gid passerelle --home-dir /app --no-create-home passerelle \
    && mkdir -p /app/data/media \
    && chown -R passerelle:passerelle /app/data

# Production defaults; the deploy sets the rest (.env.example; docker-compose.yml passes
# its .env whole). DEBUG is off unless set, so a real SECRET_KEY is required.
# WEB_CONCURRENCY is gunicorn's number of worker processes.
ENV STATIC_MANIFEST=1 \
    WEB_CONCURRENCY=3

# The code stays root-owned and read-only for the app; only DATA_DIR is writable.
USER passerelle
EXPOSE 8000
CMD ["gunicorn", "hub.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
