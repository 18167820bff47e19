"""Passerelle settings, read from the environment (12-factor).

Every variable is documented in `.env.example`. Without any of them the app runs on
embedded defaults: a SQLite file and a filesystem Celery broker under `DATA_DIR`, so a
fresh machine needs neither PostgreSQL nor Redis.
"""

import secrets
import sys
from pathlib import Path

import dj_database_url
import django_stubs_ext
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from hub.database_config import behind_pooler, database_pooler
from hub.db_routing import replica_database
from hub.env import env_bool, env_int, env_list, env_prefixed, env_str
from hub.production import production_secret_key
from hub.queues import HOUSEKEEPING, task_queues, task_routes
from hub.redis_config import redis_broker_options, sentinel_settings
from hub.sso import sso_providers

# Lets Django's generic classes (ModelAdmin[Campaign], ModelForm[User]) be subscripted at
# runtime as they are for mypy; must run before any of them is subclassed.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve()

DEBUG = env_bool("DEBUG", default=False)
# django-stubs imports these settings inside mypy to read the app registry: nothing is
# served, signed or sent there, so `uv run mypy .` needs no production key.
_TYPE_CHECKING_ONLY = "mypy" in sys.modules
# With DEBUG=0 a missing, blank, public, short or low-entropy key stops start-up
# (hub/production.py); SECRET_KEY_FILE reads it from a container secret instead.
SECRET_KEY = production_secret_key(
    debug=DEBUG or _TYPE_CHECKING_ONLY,
    key=env_str("SECRET_KEY"),
    key_file=env_str("SECRET_KEY_FILE"),
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PASSERELLE_BASE_URL = env_str("PASSERELLE_BASE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "core.admin_site.PasserelleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # search for the feed; imports and runs on SQLite too
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "allauth.socialaccount.providers.openid_connect",
    "anymail",
    "core",
    "accounts",
    "teams",
    "campaigns",
    "notifications",
    "feed",
    "dashboards",
    # Two-way (issue 16): acknowledge, say "not ready" and ask from Slack and Mattermost.
    "chat",
    # Trust (issue 13): the append-only audit log of security-relevant changes.
    "audit",
    # Integration API (issue 17): /api/v1 with tokens, idempotency and an OpenAPI schema;
    # "ninja" serves its docs page's scripts from static files (no CDN).
    "ninja",
    "api",
    # Outgoing webhooks (issue 17): signed event messages to integrations' endpoints.
    "webhooks",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost but one, so every response gets the header, error pages included.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # After authentication (an Idempotency-Key belongs to its caller); wraps the API's
    # POSTs in the transaction that keeps their answer (api/idempotency.py).
    "api.idempotency.IdempotencyMiddleware",
    "core.caching.PrivatePagesMiddleware",  # signed-in pages: Cache-Control private, no-store
    "core.http.DomainErrorMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "hub.urls"
WSGI_APPLICATION = "hub.wsgi.application"
ASGI_APPLICATION = "hub.asgi.application"


class InvalidTemplateVariable(str):
    """Makes a missing template variable an error in development and tests."""

    __slots__ = ()

    def __mod__(self, other: object) -> str:
        from django.template.exceptions import TemplateSyntaxError

        raise TemplateSyntaxError(f"Undefined template variable: {other!r}")


STRICT_TEMPLATES = env_bool("STRICT_TEMPLATES", default=DEBUG)

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "core.context_processors.passerelle",
                "dashboards.context_processors.dashboard",
            ],
            "string_if_invalid": InvalidTemplateVariable("%s") if STRICT_TEMPLATES else "",
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'passerelle.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker share the file: WAL lets readers run beside the single writer,
    # IMMEDIATE takes the write lock up front so a transaction never fails half-way
    # on lock upgrade, and the timeout waits for the lock instead of erroring.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests on a file too, not Django's default in-memory database: that one is a single
    # connection the live server's request threads share with the test, so two requests
    # at once (a double click) nest in each other's transaction, and one's failure rolls
    # back the other's committed-looking work. A file gives each thread its own.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASE_IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# "pgbouncer": PostgreSQL is reached through PgBouncer in transaction mode.
DATABASE_POOLER = database_pooler(env_str("DATABASE_POOLER"))
if DATABASE_IS_POSTGRES:
    # PostgreSQL's defaults cost a random read as on a spinning disk (4) and JIT-compile
    # any query estimated as large: on SSDs with a warm cache that makes the planner scan
    # whole tables where an index range is 5x faster, and JIT adds ~50 ms to dashboard
    # queries that run in 10. Set per connection so a stock server behaves; empty it to
    # use the server's own settings. Behind PgBouncer (which refuses startup options)
    # they belong on the role or in PgBouncer's connect_query: see hub/database_config.py.
    connection_options = env_str(
        "DATABASE_CONNECTION_OPTIONS",
        "" if DATABASE_POOLER else "-c random_page_cost=1.1 -c jit=off",
    )
    if connection_options:
        # Added to, not replacing, any `?options=` given in DATABASE_URL (a search_path).
        database_options = DATABASES["default"].setdefault("OPTIONS", {})
        given = database_options.get("options", "")
        database_options["options"] = f"{given} {connection_options}".strip()
    behind_pooler(DATABASES["default"], pooler=DATABASE_POOLER)
# Read replica for the pages that opt in (hub/db_routing.py, docs/scaling/replicas.md).
# Unset: no router, no middleware, every query goes to DATABASE_URL.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
DATABASE_REPLICA_STICKY_SECONDS = env_int("DATABASE_REPLICA_STICKY_SECONDS", 5)
DATABASE_REPLICA_MAX_LAG_SECONDS = env_int("DATABASE_REPLICA_MAX_LAG_SECONDS", 10)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = replica_database(
        DATABASE_REPLICA_URL,
        primary=DATABASES["default"],
        connection_options=connection_options if DATABASE_IS_POSTGRES else "",
    )
    DATABASE_ROUTERS = ["hub.db_routing.ReplicaRouter"]
    MIDDLEWARE.append("hub.db_routing.ReadYourWritesMiddleware")

# --- Cache (allauth rate limits, notification throttles) ------------------------------
REDIS_URL = env_str("REDIS_URL")
# Redis behind Sentinel instead of at one address, for both the cache and the broker.
REDIS_SENTINEL = sentinel_settings(
    sentinels=env_list("REDIS_SENTINELS"),
    master=env_str("REDIS_SENTINEL_MASTER", "mymaster"),
    db=env_int("REDIS_SENTINEL_DB", 0),
    password=env_str("REDIS_PASSWORD"),
    sentinel_password=env_str("REDIS_SENTINEL_PASSWORD"),
    redis_url=REDIS_URL,
)
if REDIS_SENTINEL:
    CACHES = {"default": REDIS_SENTINEL.cache(socket_timeout=1)}
elif REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Authentication -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.OneQueryModelBackend",
    # Kept after it: sessions opened before it came name this backend, and Django signs
    # out a session whose backend is no longer listed. Permissions are answered first by
    # the one above (both read the same per-request cache).
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
LOGIN_REDIRECT_URL = "core:home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Passerelle] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env_str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", "http")  # https: below
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, stated so they are visibly on.
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
}
# Sign-up is closed: accounts come from an admin or an invitation. Opening it lets people
# whose e-mail is in one of these domains register themselves.
PASSERELLE_SIGNUP_OPEN = env_bool("PASSERELLE_SIGNUP_OPEN", default=False)
PASSERELLE_SIGNUP_DOMAINS = [d.lower() for d in env_list("PASSERELLE_SIGNUP_DOMAINS")]

# --- Second factor (allauth MFA) --------------------------------------------------------
# Anyone may add an authenticator app (TOTP), security keys or passkeys (WebAuthn) and
# recovery codes from their profile. With
# PASSERELLE_MFA_REQUIRED, marketers and managers who sign in with a password must set one
# up before anything else (accounts.middleware.SecondFactorRequiredMiddleware).
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# WebAuthn needs a secure origin; http:// is allowed only for local development.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_TOTP_ISSUER = "Passerelle"
PASSERELLE_MFA_REQUIRED = env_bool("PASSERELLE_MFA_REQUIRED", default=False)

# --- Single sign-on (README "Single sign-on", hub/sso.py) -------------------------------
# OpenID Connect providers set by environment variables; people sign in with their company
# account. An account is matched by the e-mail the provider vouches for, or created on the
# first sign-in without any role (a manager then places it in teams). Only addresses in
# SSO_ALLOWED_DOMAINS may sign in this way (empty: any the provider verified).
SSO_PROVIDERS = sso_providers()
SSO_ALLOWED_DOMAINS = [d.lower().lstrip("@") for d in env_list("SSO_ALLOWED_DOMAINS")]
SSO_PROVIDER_NAME = " / ".join(p.name for p in SSO_PROVIDERS)
# Hide the password form: everyone signs in with single sign-on.
SSO_ONLY = env_bool("SSO_ONLY", default=False) and bool(SSO_PROVIDERS)
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [p.app(allowed_domains=SSO_ALLOWED_DOMAINS) for p in SSO_PROVIDERS],
    }
}
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_ONLY = SSO_ONLY
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the provider vouches for it (verified_email)
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_LOGIN_ON_GET = False  # a link alone never starts a sign-in (login CSRF)
SOCIALACCOUNT_STORE_TOKENS = False

# --- Production profile: HTTPS (README "Production profile") --------------------------
# On when PASSERELLE_BASE_URL is https://… (or PASSERELLE_HTTPS=1): HSTS, redirect to
# HTTPS, cookies only over HTTPS, https links in account e-mails. `check --deploy` then
# reports nothing (tests/core/test_production_profile.py).
PASSERELLE_HTTPS = env_bool("PASSERELLE_HTTPS", default=PASSERELLE_BASE_URL.startswith("https://"))
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=PASSERELLE_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Only behind a proxy that sets (and strips incoming) X-Forwarded-Proto; otherwise any
# client could claim to be on HTTPS. The profile assumes TLS ends at a proxy.
if env_bool("BEHIND_HTTPS_PROXY", default=PASSERELLE_HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if PASSERELLE_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP and do not follow redirects.
    SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)  # one year
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
SILENCED_SYSTEM_CHECKS: list[str] = []
if not env_bool("SECURE_HSTS_PRELOAD", default=False):
    # Preloading is a promise to browsers' lists that is slow to take back (hstspreload.org):
    # the operator's decision, not a default; without it the warning is noise.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Reverse proxies in front of the app, each appending to X-Forwarded-For: allauth's rate
# limits and the audit log (both through accounts.adapter) take the address that many
# entries from the right. 0: REMOTE_ADDR, the header is ignored (any client could forge
# it). Wrong by one either way, and behind a proxy every login counts against the proxy's
# address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more, got {TRUSTED_PROXY_COUNT}")
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# --- Content-Security-Policy ----------------------------------------------------------
# No inline scripts, styles or handlers anywhere: scripts come from our origin with the
# per-response nonce (htmx, static/js/app.js), styles only from our stylesheets. Campaign
# Markdown never shows remote images, so img-src stays on our origin (plus data: for the
# inline SVG icons in the CSS). CSP_REPORT_ONLY=1 sends the same policy as
# Content-Security-Policy-Report-Only, to try a change on production traffic first.
CSP_REPORT_URI = env_str("CSP_REPORT_URI", "")
PASSERELLE_CSP: dict[str, list[str]] = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    # The single sign-on button posts here, which redirects to the provider: browsers
    # apply form-action to that redirect too.
    "form-action": [CSP.SELF, *(p.origin for p in SSO_PROVIDERS)],
    "object-src": [CSP.NONE],
}
if CSP_REPORT_URI:
    PASSERELLE_CSP["report-uri"] = [CSP_REPORT_URI]
if env_bool("CSP_REPORT_ONLY", default=False):
    SECURE_CSP: dict[str, list[str]] = {}
    SECURE_CSP_REPORT_ONLY: dict[str, list[str]] = PASSERELLE_CSP
else:
    SECURE_CSP = PASSERELLE_CSP
    SECURE_CSP_REPORT_ONLY = {}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True
# Day before month and a 24-hour clock in English too (core/formats, core/when.py).
FORMAT_MODULE_PATH = ["core.formats"]

# --- Static and uploaded files --------------------------------------------------------
STATIC_URL = "static/"
# Outside DATA_DIR: a volume mounted on the data folder must not hide the collected files.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles"))).resolve()
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns at start-up without it
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
# Uploads (core/uploads.py): a file is cut off as soon as it passes FILE_UPLOAD_MAX_BYTES
# (campaign attachments' limit), before Django's handlers keep it whole. Fields other
# than files stay under Django's 2.5 MB, and one form sends one file: a few is plenty.
FILE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "core.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 10
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- E-mail ---------------------------------------------------------------------------
# Django 6.1 mailers. With EMAIL_HOST set, mail goes out over SMTP. An anymail backend
# (EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend) calls the provider's API instead,
# with the credentials in ANYMAIL below (docs/EMAIL.md). Otherwise each message is written
# to a file under EMAIL_FILE_PATH (default DATA_DIR/sent-mail): the embedded development
# stack. With DEBUG=0 that fallback would silently send nothing, so files must then be
# chosen explicitly (EMAIL_FILE_PATH or EMAIL_BACKEND set).
_EMAIL_HOST = env_str("EMAIL_HOST")
_EMAIL_BACKEND = env_str("EMAIL_BACKEND")
_EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH")
if _EMAIL_BACKEND.startswith("anymail."):
    MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": {}}}
elif _EMAIL_HOST:
    MAILERS = {
        "default": {
            # Django's SMTP backend, pipelining where the server offers it.
            "BACKEND": _EMAIL_BACKEND or "notifications.smtp.EmailBackend",
            "OPTIONS": {
                "host": _EMAIL_HOST,
                "port": env_int("EMAIL_PORT", 25),
                "username": env_str("EMAIL_HOST_USER") or None,
                "password": env_str("EMAIL_HOST_PASSWORD") or None,
                "use_tls": env_bool("EMAIL_USE_TLS", default=False),
                "use_ssl": env_bool("EMAIL_USE_SSL", default=False),
                "timeout": env_int("EMAIL_TIMEOUT", 10),
            },
        }
    }
else:
    if not (DEBUG or _TYPE_CHECKING_ONLY or _EMAIL_BACKEND or _EMAIL_FILE_PATH):
        raise ImproperlyConfigured(
            "With DEBUG=0 e-mails need a way out: set EMAIL_HOST (SMTP) or an anymail "
            "EMAIL_BACKEND; to write them to files on purpose, set EMAIL_FILE_PATH."
        )
    MAILERS = {
        "default": {
            "BACKEND": _EMAIL_BACKEND or "django.core.mail.backends.filebased.EmailBackend",
            # A relative path is under DATA_DIR.
            "OPTIONS": {"file_path": str(DATA_DIR / (_EMAIL_FILE_PATH or "sent-mail"))},
        }
    }

# Anymail: each ANYMAIL_<SETTING> variable is anymail's <SETTING>, named as in its
# documentation (ANYMAIL_POSTMARK_SERVER_TOKEN, ANYMAIL_MAILGUN_API_KEY…). Only settings
# whose value is a string (keys, tokens, URLs, names): a boolean or a number read from
# the environment would still be a string ("false" is true), so others stop start-up.
_ANYMAIL_STRINGS = (
    *("_KEY", "_SECRET", "_TOKEN", "_PASSWORD", "_USERNAME", "_URL", "_DOMAIN"),
    *("_ID", "_NAME", "_REGION", "_STREAM", "_MODE", "_FORMAT", "_SUBACCOUNT"),
)
ANYMAIL: dict[str, object] = {**env_prefixed("ANYMAIL_")}
for _name in ANYMAIL:
    if not _name.endswith(_ANYMAIL_STRINGS):
        raise ImproperlyConfigured(
            f"ANYMAIL_{_name} cannot come from the environment: only anymail's string "
            "settings can (keys, tokens, URLs, names); EMAIL_TIMEOUT sets its timeout"
        )
ANYMAIL["REQUESTS_TIMEOUT"] = env_int("EMAIL_TIMEOUT", 10)
# The provider's bounce reports (/anymail/<esp>/tracking/) authenticate with HTTP basic
# auth, "user:password" (several, comma-separated, while rotating). Without one, anymail
# would accept reports from anyone, who could then mark any message as bounced: an
# unguessable secret nobody knows keeps the webhooks closed until one is set.
_WEBHOOK_SECRETS = env_list("ANYMAIL_WEBHOOK_SECRET")
for _secret in _WEBHOOK_SECRETS:
    if ":" not in _secret:
        raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET must be user:password (comma-separated)")
ANYMAIL["WEBHOOK_SECRET"] = _WEBHOOK_SECRETS or [f"closed:{secrets.token_urlsafe(32)}"]

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Passerelle <passerelle@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env_str(
    "CELERY_BROKER_URL",
    REDIS_URL or (REDIS_SENTINEL.broker_url if REDIS_SENTINEL else "filesystem://"),
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "sentinel://")):
    # A visibility timeout above the longest task time limit, short socket timeouts.
    CELERY_BROKER_TRANSPORT_OPTIONS = redis_broker_options(CELERY_BROKER_URL, REDIS_SENTINEL)
elif CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = DATA_DIR / "broker"
    BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        # Exchange tables; kombu's default is ./control in whatever folder a worker starts.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Each task sets its own limits (notifications.tasks); these cover any that would not.
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_QUEUES = task_queues()
CELERY_TASK_ROUTES = task_routes()
CELERY_TASK_DEFAULT_QUEUE = HOUSEKEEPING
# What a worker publishes (deliveries, retries) rides out a Redis failover (~10 s);
# a web request still fails fast (notifications.publish).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 8,
    "interval_start": 0.5,
    "interval_step": 1,
    "interval_max": 3,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker keeps reconnecting to a lost broker for as long as it takes (Celery's default
# gives up after 100 attempts, about 45 minutes, and the worker exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "chat-sweep": {
        "task": "chat.tasks.chat_sweep",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "notifications-sweep": {
        "task": "notifications.tasks.sweep_stale_notifications",
        "schedule": float(env_int("NOTIFICATIONS_SWEEP_SECONDS", 15)),
        # A tick stuck behind a backlog is useless once the next one is due.
        "options": {"expires": max(5, env_int("NOTIFICATIONS_SWEEP_SECONDS", 15) - 2)},
    },
    "campaigns-reminders-and-escalations": {
        "task": "campaigns.tasks.send_due_reminders_and_escalations",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "dashboards-figures-keep-warm": {
        "task": "dashboards.tasks.figures_keep_warm",
        "schedule": 20.0,  # dashboards.cache.WARM_EVERY_SECONDS
        "options": {"expires": 18},
    },
    "campaigns-launch-changes-purge": {
        "task": "campaigns.tasks.launch_changes_purge",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "notifications-daily-digest": {
        "task": "notifications.tasks.send_daily_digests",
        "schedule": crontab(minute=0),
        "options": {"expires": 3000},
    },
    # Hourly, so each person gets it at the digest hour in their own time zone on Monday.
    "campaigns-week-ahead": {
        "task": "feed.tasks.send_week_ahead",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
    "accounts-invitations-sweep": {
        "task": "accounts.tasks.invitations_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Outgoing webhooks: retries when due, rows of dead workers, endpoints failing too long.
    "webhooks-sweep": {
        "task": "webhooks.tasks.webhooks_sweep",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Idempotency-Key answers are kept a day (api/idempotency.py).
    "api-idempotency-purge": {
        "task": "api.tasks.idempotent_requests_purge",
        "schedule": 3600,
        "options": {"expires": 3000},
    },
    # Daily, at a quiet hour: retention of notifications (docs/PRIVACY.md).
    "notifications-purge-expired": {
        "task": "notifications.tasks.notifications_purge_expired",
        "schedule": crontab(minute=20, hour=3),
        "options": {"expires": 3600 * 6},
    },
    # Daily: chat clicks no replay could reuse any more (docs/PRIVACY.md).
    "chat-actions-purge-expired": {
        "task": "chat.tasks.chat_actions_purge_expired",
        "schedule": crontab(minute=50, hour=3),
        "options": {"expires": 3600 * 6},
    },
    # Daily: retention of outgoing webhook messages (docs/PRIVACY.md).
    "webhooks-purge-expired": {
        "task": "webhooks.tasks.webhook_deliveries_purge_expired",
        "schedule": crontab(minute=40, hour=3),
        "options": {"expires": 3600 * 6},
    },
}

# --- Notifications --------------------------------------------------------------------
# Transient failures are retried for this long (backoff from the base, doubling, capped),
# then the message fails for good as "gave up": an outage of hours still ends in delivery.
NOTIFICATIONS_RETRY_WINDOW_HOURS = env_int("NOTIFICATIONS_RETRY_WINDOW_HOURS", 24)
NOTIFICATIONS_RETRY_BASE_SECONDS = env_int("NOTIFICATIONS_RETRY_BASE_SECONDS", 30)
NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS = env_int("NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS", 900)
NOTIFICATIONS_BATCH_SIZE = env_int("NOTIFICATIONS_BATCH_SIZE", 100)
# A worker renews its claim on the rows it sends (a lease); one not renewed for this long
# belonged to a dead worker, and the sweep gives its rows back.
NOTIFICATIONS_LEASE_SECONDS = env_int("NOTIFICATIONS_LEASE_SECONDS", 30)
# Pending rows nobody picked up for this long are queued again by the sweep.
NOTIFICATIONS_STALE_AFTER_SECONDS = env_int("NOTIFICATIONS_STALE_AFTER_SECONDS", 30)
# Up to this many people, an event's outbox rows are written with the change itself;
# beyond, by a task after commit (the request only writes the event).
NOTIFICATIONS_EXPAND_INLINE_MAX = env_int("NOTIFICATIONS_EXPAND_INLINE_MAX", 50)
NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS = env_int("NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS", 5)
# --- Integration API (issue 17) -------------------------------------------------------
# Requests a minute per API token or signed-in person; 0 turns the limit off.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 600)

NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = env_bool("NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE", default=False)
NOTIFICATIONS_ACK_LINK_MAX_AGE_DAYS = env_int("NOTIFICATIONS_ACK_LINK_MAX_AGE_DAYS", 14)
# The Slack app (chat/slack.py, README "Two-way chat"): with a bot token and the app's
# signing secret, teams with a Slack channel id get announcements with buttons, updated
# in place. SLACK_API_URL is Slack's Web API (tests point it at a fake on loopback).
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
SLACK_API_URL = env_str("SLACK_API_URL", "https://slack.com/api/")
# The Mattermost bot (chat/mattermost.py): with the server's address and a bot account's
# token, teams with a Mattermost channel id get posts the app updates in place after any
# change (without it, incoming-webhook posts are updated by their own clicks only).
MATTERMOST_URL = env_str("MATTERMOST_URL").rstrip("/")
MATTERMOST_BOT_TOKEN = env_str("MATTERMOST_BOT_TOKEN")
# Mattermost's buttons carry a token signed with SECRET_KEY, accepted this long.
CHAT_ACTION_MAX_AGE_DAYS = env_int("CHAT_ACTION_MAX_AGE_DAYS", 30)
# An invitation's link (accounts.invitations) works this long, once.
ACCOUNT_INVITATION_MAX_AGE_DAYS = env_int("ACCOUNT_INVITATION_MAX_AGE_DAYS", 14)
NOTIFICATIONS_DIGEST_HOUR = env_int("NOTIFICATIONS_DIGEST_HOUR", 8)

# --- Outgoing webhooks (webhooks/) ------------------------------------------------------
# An endpoint whose deliveries keep failing, with no success, for longer than this is
# disabled, and the manager who registered it is told by e-mail. Their addresses are
# checked as chat webhooks' are (NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE), with the same timeout.
WEBHOOKS_DISABLE_AFTER_HOURS = env_int("WEBHOOKS_DISABLE_AFTER_HOURS", 24)
if WEBHOOKS_DISABLE_AFTER_HOURS < 1:
    raise ImproperlyConfigured(
        f"WEBHOOKS_DISABLE_AFTER_HOURS must be at least 1, got {WEBHOOKS_DISABLE_AFTER_HOURS}"
    )

# --- Personal data (docs/PRIVACY.md) ---------------------------------------------------
# Delivered notifications and their payloads (names, notes) are deleted this many days
# after they were created, by the daily notifications-purge-expired beat task.
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 400)
if NOTIFICATION_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"NOTIFICATION_RETENTION_DAYS must be at least 1, got {NOTIFICATION_RETENTION_DAYS}"
    )
# Outgoing webhook messages delivered or failed (the delivery log: actor names, thread
# messages' text) are deleted this many days after they were created, by the daily
# webhooks-purge-expired beat task. Messages still on their way stay, however old.
WEBHOOKS_RETENTION_DAYS = env_int("WEBHOOKS_RETENTION_DAYS", 30)
if WEBHOOKS_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"WEBHOOKS_RETENTION_DAYS must be at least 1, got {WEBHOOKS_RETENTION_DAYS}"
    )

# --- Campaign page ---------------------------------------------------------------------
# How often an open campaign page asks whether acknowledgements changed (browser tests
# lower it to see the page update without waiting).
CAMPAIGN_PAGE_POLL_SECONDS = 10

# --- Dashboards -------------------------------------------------------------------------
# How long computed dashboard figures are kept (the page says when they were computed);
# 0 computes them on every request.
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 60)
# Figures read in the last this many seconds are computed again by beat before they go
# stale, so no reader waits for them while a dashboard is in use. 0: only on demand.
DASHBOARD_WARM_SECONDS = env_int("DASHBOARD_WARM_SECONDS", 900)
# How long an Atom or iCalendar document is kept for the next client that asks for the
# same version of it (its key holds the validator: any change makes a new one). 0: off.
SUBSCRIPTION_CACHE_SECONDS = env_int("SUBSCRIPTION_CACHE_SECONDS", 3600)
# How long an address's latest validator is trusted without asking the database: a feed
# may lag a change by this much (its answers declare max-age=300 anyway). 0: always asked.
SUBSCRIPTION_FRESH_SECONDS = env_int("SUBSCRIPTION_FRESH_SECONDS", 60)
# How long a list row's rendered HTML is kept (core/fragments.py: its key is a digest of
# what it shows, and of the minute, so it never goes stale; this only bounds memory).
# 0: every row rendered on every request.
FRAGMENT_CACHE_SECONDS = env_int("FRAGMENT_CACHE_SECONDS", 120)
# Whole signed-in pages kept while their stamp is unchanged (core/pages.py); the minute is
# part of their key, so a minute is the most they are kept.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 60)

# --- Logging and metrics (docs/OPERATIONS.md) -----------------------------------------
# "json": one JSON object per line, with campaign, notification and task ids (core/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
# Celery's worker and beat use this too (core.logs.keep_django_logging).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "filters": {
        "task_context": {"()": "core.logs.TaskContextFilter"},
        "broker_ack_lost": {"()": "core.logs.BrokerAckLostFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["task_context"],
        }
    },
    "loggers": {
        # kombu's CRITICAL "Couldn't ack" after a Redis loss is harmless here: a WARNING.
        "celery.worker.request": {"filters": ["broker_ack_lost"]},
        "celery.worker.consumer.consumer": {"filters": ["broker_ack_lost"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# /metrics answers only requests bearing this token (`Authorization: Bearer …`); unset,
# it answers 404, so the figures are never public by accident.
METRICS_TOKEN = env_str("METRICS_TOKEN")
