# Pinsync in one image: the web app (gunicorn, static files by WhiteNoise) by default,
# the worker cluster with `python manage.py worker`. compose.yaml runs both, with
# PostgreSQL and Redis; the README's "Deploy" says which variables to set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
# The pinned dependencies (binary wheels: no compiler needed). The app runs from /app,
# where templates/ and static/ live beside the code.
RUN pip install .

# Hashed, compressed static files, as production serves them. No production secret
# exists at build time: DEBUG on skips the start-up checks, STATIC_MANIFEST asks for
# production's storage anyway.
RUN DEBUG=true STATIC_MANIFEST=true python manage.py collectstatic --noinput -v0

# Not root. Uploaded CSV files wait in /app/media for a worker: mount a volume shared
# by the web app and every worker there.
RUN useradd --create-home --uid 10001 pinsync \
    && mkdir -p /app/media && chown pinsync /app/media
USER pinsync

EXPOSE 8000
CMD ["gunicorn", "--config", "python:config.gunicorn", "config.wsgi"]
