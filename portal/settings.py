"""Herald settings.

One settings module for both run modes; only the environment differs:

* **Embedded default** (no ``DATABASE_URL`` / ``REDIS_URL``): SQLite in WAL mode, the
  in-memory cache and channel layer, Celery on the in-process ``memory://`` transport.
* **Production profile**: ``DATABASE_URL`` (PostgreSQL via psycopg 3) and ``REDIS_URL``
  (Celery broker, cache and channel layer).

Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


# Where the embedded default keeps its state (database, generated secret, uploads).
VAR_DIR = Path(env("HERALD_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """Secrets never live in the repository: take the environment, or generate one
    per installation and keep it in ``var/`` (ignored by git)."""
    key = env("DJANGO_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
HERALD_BASE_URL = env("HERALD_BASE_URL", "http://127.0.0.1:8000")
HERALD_VERSION = "0.1.0"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "portal",
    "accounts",
    "contacts",
    "messaging",
    "webhooks",
    "assets",
    "broadcasts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AccountSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    if env_bool("HERALD_DB_POOL", True):
        # A connection pool per process (psycopg_pool): under ASGI every request may run on
        # another thread, and persistent per-thread connections would pile up; the pool
        # also spares each request a connect.
        # A connection is checked as it leaves the pool, so after a PostgreSQL restart the
        # dead ones are replaced instead of failing a request each: by a look at its socket,
        # a round trip only when the server has said something (portal/dbpool.py, the engine
        # portal.postgresql, D79).
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, engine="portal.postgresql")}
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(env("HERALD_DB_POOL_MIN", "2")), "max_size": int(env("HERALD_DB_POOL_MAX", "20")),
            "timeout": 10}
    else:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("HERALD_SQLITE_PATH", str(VAR_DIR / "herald.sqlite3")),
            "OPTIONS": {
                # WAL lets readers work while one writer writes; the busy timeout makes a
                # second writer wait instead of failing; IMMEDIATE takes the write lock at
                # BEGIN so two transactions never deadlock on an upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 10,
            },
            "TEST": {"NAME": None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, channel layer ------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env("HERALD_CACHE_PREFIX", "herald"),
                          # one pool per process, not one per request context (portal/cache.py)
                          "OPTIONS": {"pool_class": "portal.cache.SharedConnectionPool"}}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL]}}}
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "herald"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", "memory://")

CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("priority"))
CELERY_TASK_ROUTES = {
    # The priority lane: API, conversation and OTP sends never queue behind a broadcast.
    "messaging.tasks.dispatch_priority": {"queue": "priority"},
}
# Broadcasts: recipients resolved per batch (one transaction each).
HERALD_BROADCAST_BATCH = int(env("HERALD_BROADCAST_BATCH", "5000"))

CELERY_BEAT_SCHEDULE = {
    "lock-inactive-accounts": {
        "task": "accounts.tasks.lock_inactive_accounts",
        "schedule": timedelta(hours=1),
    },
    "messaging-dispatch-sweep": {  # safety net: kicks gateways with queued messages
        "task": "messaging.tasks.dispatch_sweep",
        "schedule": timedelta(seconds=5),
    },
    "messaging-fallback-sweep": {  # plans whose step deadline passed move on
        "task": "messaging.tasks.fallback_sweep",
        "schedule": timedelta(seconds=2),
    },
    "messaging-recover": {  # claims left by a dead worker, reports that overtook their message
        "task": "messaging.tasks.recover",
        "schedule": timedelta(seconds=60),
    },
    "portal-purge-idempotency-keys": {
        "task": "portal.tasks.purge_idempotency_keys",
        "schedule": timedelta(hours=1),
    },
    "broadcasts-tick": {  # scheduled runs start, finished runs complete, counters squash
        "task": "broadcasts.tasks.tick",
        "schedule": timedelta(seconds=5),
    },
    "broadcasts-launch-due-templates": {  # due template schedules make their runs (Launch = Recurrent)
        "task": "broadcasts.tasks_templates.launch_due_templates",
        "schedule": timedelta(seconds=10),
        "options": {"expires": 10},  # ticks queued during downtime are dropped, never a burst
    },
    "webhooks-deliver-due": {
        "task": "webhooks.tasks.deliver_due",
        "schedule": timedelta(seconds=5),
    },
}

# --- Auth and the password policy (spec §19) ------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "accounts.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "accounts.passwords.PasswordHistoryValidator", "OPTIONS": {"history": 7}},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
HERALD_PASSWORD_MIN_AGE = timedelta(hours=24)
HERALD_INACTIVITY_LOCK = timedelta(days=30)
HERALD_IDLE_LOGOUT = timedelta(minutes=int(env("HERALD_IDLE_LOGOUT_MINUTES", "60")))
HERALD_LOGIN_MAX_FAILURES = int(env("HERALD_LOGIN_MAX_FAILURES", "5"))
HERALD_LOGIN_LOCK_MINUTES = int(env("HERALD_LOGIN_LOCK_MINUTES", "15"))
HERALD_LOGIN_IP_LIMIT = int(env("HERALD_LOGIN_IP_LIMIT", "20"))  # failed attempts per IP per window
HERALD_LOGIN_IP_WINDOW = 300  # seconds
HERALD_PASSWORD_RESET_WINDOW = 300  # seconds
HERALD_PASSWORD_RESET_LIMIT = 3  # requests per 5 minutes per address (API seed §1.4)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

SESSION_COOKIE_AGE = 60 * 60 * 24 * 14  # "Remember me"; otherwise the cookie ends with the browser
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("HERALD_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(env("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
else:
    # Embedded default: mails are written to var/mail so a local user can open reset links.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Herald <no-reply@herald.local>")

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("HERALD_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("HERALD_MEDIA_ROOT", str(VAR_DIR / "media")))
HERALD_MEDIA_MAX_BYTES = int(env("HERALD_MEDIA_MAX_BYTES", str(500 * 1024 * 1024)))  # per media file (rule 29)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- REST API -----------------------------------------------------------------------------------
# A valid key's access is kept this long per process (accounts/api/authentication.py, D67).
HERALD_API_KEY_CACHE_SECONDS = float(env("HERALD_API_KEY_CACHE_SECONDS", "5"))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api.permissions.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("HERALD_API_RATE", "1000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Herald API",
    "DESCRIPTION": "REST API of Herald, the omnichannel messaging portal. Authenticate with an API "
                   "access key: `X-API-Key: <key>`, `Authorization: Bearer <key>` or `?access_token=<key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files (npm swagger-ui-dist), never from a CDN.
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/img/favicon.svg",
}
# Proxies whose X-Forwarded-For is trusted to give the client IP (comma separated IPs).
HERALD_TRUSTED_PROXIES = env_list("HERALD_TRUSTED_PROXIES")

# --- Security headers -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a reverse proxy that terminates HTTPS and sets X-Forwarded-Proto (e-mailed links use https).
if env_bool("HERALD_BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("HERALD_LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# --- Contacts import limits ---------------------------------------------------------------------
# The wizard refuses a file before anything is written when it breaks one of these (see
# docs/contacts.md "Imports"). Sizes are in MB (1 MB = 1024 x 1024 bytes).
HERALD_IMPORT_MAX_UPLOAD_MB = int(env("HERALD_IMPORT_MAX_UPLOAD_MB", "100"))
HERALD_IMPORT_MAX_ROWS = int(env("HERALD_IMPORT_MAX_ROWS", "2000000"))
HERALD_IMPORT_MAX_UNCOMPRESSED_MB = int(env("HERALD_IMPORT_MAX_UNCOMPRESSED_MB", "500"))  # xlsx / ods zip bomb guard
HERALD_IMPORT_MAX_COMPRESSION_RATIO = int(env("HERALD_IMPORT_MAX_COMPRESSION_RATIO", "100"))  # per zip member
HERALD_IMPORT_CHUNK_ROWS = int(env("HERALD_IMPORT_CHUNK_ROWS", "25000"))  # rows per committed checkpoint
HERALD_IMPORT_WORKERS = int(env("HERALD_IMPORT_WORKERS", "2"))  # processes normalising phone numbers; 0 = in-process
HERALD_IMPORT_WRITERS = int(env("HERALD_IMPORT_WRITERS", "2"))  # connections merging import chunks at once (PostgreSQL)
HERALD_IMPORT_PARALLEL_MIN_ROWS = int(env("HERALD_IMPORT_PARALLEL_MIN_ROWS", "20000"))
HERALD_IMPORT_SYNC_CHECK_ROWS = int(env("HERALD_IMPORT_SYNC_CHECK_ROWS", "5000"))  # larger files are checked in the background
# Mass edit (spec P§6.5): larger selections are edited by a worker, with a progress page.
HERALD_ENCRYPTION_KEYS = env_list("HERALD_ENCRYPTION_KEYS")  # Fernet keys, newest first; default: derived from SECRET_KEY
# Messaging engine (docs/messaging.md)
# Messages claimed per provider call (also capped by the driver's ``max_batch`` and one second
# of the gateway's TPS). Each batch has ~12 ms of fixed cost (about fifteen statements and two
# commits): 1,000 sends a simulator broadcast with ~20 % less CPU than 500 (D82).
HERALD_DISPATCH_BATCH = int(env("HERALD_DISPATCH_BATCH", "1000"))
HERALD_DISPATCH_SLICE_SECONDS = float(env("HERALD_DISPATCH_SLICE_SECONDS", "5"))  # one dispatch task's run
HERALD_INFLIGHT_TIMEOUT_SECONDS = int(env("HERALD_INFLIGHT_TIMEOUT_SECONDS", "300"))  # claim of a dead worker
HERALD_FALLBACK_BATCH = int(env("HERALD_FALLBACK_BATCH", "5000"))  # plans advanced per sweep statement
# API Idempotency-Key (docs/api.md §3): how long a key is kept; when an unfinished one may be taken over.
HERALD_IDEMPOTENCY_TTL_HOURS = int(env("HERALD_IDEMPOTENCY_TTL_HOURS", "24"))
HERALD_IDEMPOTENCY_STALE_SECONDS = int(env("HERALD_IDEMPOTENCY_STALE_SECONDS", "300"))
# Client webhooks (docs/api.md §10)
HERALD_WEBHOOKS_ALLOW_PRIVATE = env_bool("HERALD_WEBHOOKS_ALLOW_PRIVATE", False)  # SSRF guard off: dev/tests only
HERALD_WEBHOOK_TIMEOUT = float(env("HERALD_WEBHOOK_TIMEOUT", "15"))  # seconds per POST
HERALD_WEBHOOK_WORKERS = int(env("HERALD_WEBHOOK_WORKERS", "8"))  # POSTs in parallel per sweep batch
HERALD_WEBHOOK_BATCH = int(env("HERALD_WEBHOOK_BATCH", "200"))  # attempts per deliver_due run
HERALD_WEBHOOK_ROTATION_GRACE_HOURS = float(env("HERALD_WEBHOOK_ROTATION_GRACE_HOURS", "24"))
HERALD_MASS_EDIT_SYNC_LIMIT = int(env("HERALD_MASS_EDIT_SYNC_LIMIT", "5000"))
