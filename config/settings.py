"""Settings, all read from the environment (see `.env.example` for every variable).

With nothing set, the app runs locally: SQLite in WAL mode, django-q2 on the ORM
broker, the local Pinterest sandbox. `DATABASE_URL`, `REDIS_URL` and the
`PINTEREST_*` credentials switch to PostgreSQL, Redis and the real Pinterest.
"""

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)


def require_in_production(safe: bool, message: str) -> None:
    """Production (DEBUG=false) refuses to start on an unsafe default; the message names the fix."""
    if not DEBUG and not safe:
        raise ImproperlyConfigured(message)


# Development gets a fixed, obviously fake key; production must bring its own.
_DEV_SECRET_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env("SECRET_KEY", default=_DEV_SECRET_KEY)
# Django's own deploy check (security.W009): 50+ characters, 5+ distinct ones.
require_in_production(
    SECRET_KEY != _DEV_SECRET_KEY and len(SECRET_KEY) >= 50 and len(set(SECRET_KEY)) >= 5,
    "Set SECRET_KEY to a random string of 50+ characters.",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
require_in_production(
    bool(ALLOWED_HOSTS), "Set ALLOWED_HOSTS to the host names this site answers to."
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public address of this site: used in invitation links and OAuth redirects.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
require_in_production(
    SITE_URL.startswith("https://")
    and urlsplit(SITE_URL).hostname not in ("127.0.0.1", "localhost", "::1"),
    "Set SITE_URL to this site's public https:// address: invitation links and the "
    "Pinterest OAuth redirect are built from it.",
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "django_htmx",
    "django_tables2",
    "django_q",
    # Served as an app so its bundled Swagger UI files work offline at /api/v1/docs.
    "ninja",
    "canvas",
    "partners",
    "audiences",
]

MIDDLEWARE = [
    # First, so every log line of the request carries its id, /healthz's too.
    "config.logs.RequestIdMiddleware",
    "config.health.HealthzMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before any view: a NUL in any parameter is a 400 on every database.
    "canvas.middleware.RefuseNulMiddleware",
    # Every page requires login unless its view says otherwise (allauth's do).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "canvas.access.WorkspaceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "canvas.context_processors.navigation",
                "partners.context_processors.sandbox",
            ],
        },
    },
]

# Databases: SQLite (WAL) by default, anything django-environ understands via DATABASE_URL.
DATABASE_URL = env("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
        }
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Whichever way SQLite was chosen (SQLITE_PATH or a sqlite:// DATABASE_URL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web process read while the worker cluster writes;
            # IMMEDIATE avoids "database is locked" on read-then-write transactions.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            # Seconds a writer waits for the write lock: longer than any Pinterest
            # call made inside a transaction (a token refresh).
            "timeout": 30,
        }
    )
    # Tests use a file, never memory (tests/conftest.py picks one per run):
    # shared-cache in-memory SQLite takes table locks that ignore the busy
    # timeout, so concurrent workers would fail in tests only.
    DATABASES["default"]["TEST"] = {"NAME": env("SQLITE_TEST_PATH", default=None)}
else:
    # Persistent connections: measured several-fold faster for django-q2 workers.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
require_in_production(
    bool(REDIS_URL),
    "Set REDIS_URL: the login throttle and the API rate limit count in the cache, which "
    "must be shared by every web process (a per-process cache multiplies the limits).",
)
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-q2: the ORM broker locally, Redis when REDIS_URL is set. `timeout` stays
# below `retry` so a long task is never delivered twice.
Q_CLUSTER = {
    "name": "pinsync",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": 60,
    "retry": 90,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

AUTH_USER_MODEL = "canvas.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# allauth: the email address is the login; there are no usernames.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True

# One URL sets the whole email backend; the default prints emails on the console.
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
require_in_production(
    _email["EMAIL_BACKEND"].rsplit(".", 2)[-2] not in ("console", "filebased", "locmem", "dummy"),
    "Set EMAIL_URL to your mail server (e.g. smtp+tls://user:password@smtp.example.com:587): "
    "the console backend would print password-reset and invitation links in the logs.",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Pinsync <noreply@localhost>")
# Operators mailed the report of every server error (without values: config/errors.py).
ADMINS = [("Pinsync operators", address) for address in env.list("ADMINS", default=[])]
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed, compressed copies that collectstatic writes (WhiteNoise).
# The Docker image collects them at build time, where no production secret exists:
# it sets STATIC_MANIFEST with DEBUG on.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # HTTPS only: plain HTTP is redirected, and browsers are told to never try it again.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# Key for encrypting OAuth tokens at rest. Derived from SECRET_KEY in development
# only; production must set its own so rotating SECRET_KEY keeps tokens readable.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
require_in_production(
    len(FIELD_ENCRYPTION_KEY) >= 32 and FIELD_ENCRYPTION_KEY != SECRET_KEY,
    "Set FIELD_ENCRYPTION_KEY to a random string of 32+ characters, other than SECRET_KEY.",
)
if not FIELD_ENCRYPTION_KEY:
    FIELD_ENCRYPTION_KEY = hashlib.sha256(SECRET_KEY.encode()).hexdigest()

# Pinterest. With no PINTEREST_CLIENT_ID, everything points at the local sandbox
# (`python manage.py pinterest_sandbox`), which `make run` starts.
PINTEREST_CLIENT_ID = env("PINTEREST_CLIENT_ID", default="")
PINTEREST_SANDBOX = not PINTEREST_CLIENT_ID
require_in_production(
    not PINTEREST_SANDBOX,
    "Set PINTEREST_CLIENT_ID and PINTEREST_CLIENT_SECRET (your Pinterest app): without them "
    "customers would be synced to the local sandbox, not to Pinterest.",
)
PINTEREST_SANDBOX_URL = env("PINTEREST_SANDBOX_URL", default="http://127.0.0.1:8700").rstrip("/")
if PINTEREST_SANDBOX:
    # The sandbox's own app credentials (partners/pinterest/sandbox/seed.py).
    PINTEREST_CLIENT_ID, PINTEREST_CLIENT_SECRET = "sandbox-app", "sandbox-secret"
    _api, _oauth = PINTEREST_SANDBOX_URL + "/v5", PINTEREST_SANDBOX_URL + "/oauth/"
else:
    PINTEREST_CLIENT_SECRET = env("PINTEREST_CLIENT_SECRET")
    _api, _oauth = "https://api.pinterest.com/v5", "https://www.pinterest.com/oauth/"
PINTEREST_API_BASE_URL = env("PINTEREST_API_BASE_URL", default=_api)
PINTEREST_OAUTH_URL = env("PINTEREST_OAUTH_URL", default=_oauth)
PINTEREST_REDIRECT_URI = env(
    "PINTEREST_REDIRECT_URI", default=SITE_URL + "/partners/pinterest/oauth/callback/"
)
PINTEREST_TIMEOUT_SECONDS = env.float("PINTEREST_TIMEOUT_SECONDS", default=10.0)
# A token refresh holds its connection's row lock (on SQLite, the database's write
# lock) while it waits for Pinterest, so it gives up sooner than other calls.
PINTEREST_REFRESH_TIMEOUT_SECONDS = env.float("PINTEREST_REFRESH_TIMEOUT_SECONDS", default=5.0)

# One JSON object a line in production (config/logs.py), plain lines in development.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.logs.RequestIdFilter"},
        "client_errors_one_line": {"()": "config.logs.ClientErrorsOneLine"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # A 403 or 404 is one line, without the stack trace Django attaches.
        "django.request": {"filters": ["client_errors_one_line"]},
        # At DEBUG these would log every query's parameters, and a missing template
        # variable's whole context (query strings, form values): customers' emails.
        "django.db.backends": {"level": "WARNING"},
        "django.template": {"level": "INFO"},
        # runserver already prints this line itself.
        "django.utils.autoreload": {"level": "WARNING"},
        # django-q2 logs every enqueue and worker heartbeat at INFO.
        "django-q": {"level": env("Q_LOG_LEVEL", default="WARNING")},
    },
}
# Error reports (emails to ADMINS) say where it failed, never the values: local
# variables and form fields hold customers' emails and Pinterest tokens (config/errors.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.errors.PrivateExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "config.errors.PrivateExceptionReporter"

# --- Customer imports ---
# Largest CSV the Customers page accepts (manage.py import_customers has no limit).
CUSTOMER_IMPORT_MAX_BYTES = env.int("CUSTOMER_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)
# Chunks of 2,000 rows one worker task imports before queueing the next (well inside its
# timeout); a large file's larger chunks count for as many rows (import_chunks_per_run).
CUSTOMER_IMPORT_CHUNKS_PER_RUN = env.int("CUSTOMER_IMPORT_CHUNKS_PER_RUN", default=50)

# --- Ingestion API (/api/v1/, canvas/api/) ---
# Calls each API key may make per minute (a fixed window counted in the cache); 0 disables.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)
# Largest request body Django reads (the API's included); larger ones get 413.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=2 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

# --- Canvas engine ---
# The engine's and the scheduled entry's tasks stop after this many seconds, well
# inside django-q2's timeout (60 s) however slow the database: a run killed by the
# timeout would break the chain of wake-ups and leave the rest to the next
# scheduled run. A fresh task carries on.
ENGINE_RUN_SECONDS = env.float("ENGINE_RUN_SECONDS", default=30.0)
# On SQLite, seconds the engine pauses between chunks so other writers (the flusher) get
# the write lock, which SQLite does not hand out fairly; PostgreSQL needs no pause.
ENGINE_SQLITE_YIELD_SECONDS = env.float("ENGINE_SQLITE_YIELD_SECONDS", default=0.05)

# --- Audience Sync (audiences/flusher.py) ---
# Flusher loops claiming at once across every machine (each needs a free worker: keep Q_WORKERS
# above it; at a hand-over, a loop and its successor hold one each for about a second).
SYNC_FLUSHERS = env.int("SYNC_FLUSHERS", default=1)
# Sender threads per flusher loop: requests in flight at once. A request lives from its
# claim through its slot (up to a second ahead), Pinterest's answer and its settling,
# which on SQLite may wait for the engine's write: 7/s needs about 10.
SYNC_SENDERS = env.int("SYNC_SENDERS", default=12)
# Seconds a flusher loop runs before handing over to a successor (below Q_CLUSTER's timeout).
SYNC_FLUSH_RUN_SECONDS = env.int("SYNC_FLUSH_RUN_SECONDS", default=20)
# Seconds claimed sync items stay with a worker that may have died before another takes them.
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=60)
# Seconds a group with fewer than 1,900 records due waits to fill a request before it is sent anyway.
SYNC_BATCH_WINDOW_SECONDS = env.float("SYNC_BATCH_WINDOW_SECONDS", default=1.0)
