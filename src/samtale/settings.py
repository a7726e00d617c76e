"""One settings module; everything configurable comes from SAMTALE_* environment variables."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("SAMTALE_DATA_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("SAMTALE_SECRET_KEY")
    if key:
        return key
    # Embedded mode: a random key created once and kept beside the database.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _pool_options() -> dict[str, object]:
    size = int(os.environ.get("SAMTALE_DB_POOL_SIZE", "0"))
    if size <= 0:
        return {}
    return {"OPTIONS": {"pool": {"min_size": 1, "max_size": size, "max_idle": 60, "timeout": 30}}}


def database_from_url(url: str) -> dict[str, object]:
    """Turn `sqlite:///path` or `postgres://user:pw@host:port/name` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("//"):
            path = path[1:]
        elif path.startswith("/") and not url.startswith("sqlite:////"):
            path = str(Path.cwd() / path.lstrip("/"))
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; "
                    f"PRAGMA mmap_size={int(os.environ.get('SAMTALE_SQLITE_MMAP_BYTES', 268435456))};"
                ),
            },
            # Kept open per thread: opening a SQLite connection (its PRAGMAs, Django's SQL
            # functions) costs more than a chat message's queries, and an idle one holds nothing.
            "CONN_MAX_AGE": None,
            # A file, not shared-cache memory: tests run concurrent writers (routing under load).
            "TEST": {"NAME": os.environ.get("SAMTALE_TEST_SQLITE_NAME") or str(DATA_DIR / "test_samtale.sqlite3")},
        }
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "samtale",
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            # Under ASGI each request may run on another thread, and a persistent connection per
            # thread adds up across processes ("too many clients"): connections close after each
            # request (Django's advice for ASGI). A pool per process (SAMTALE_DB_POOL_SIZE > 0) or
            # PgBouncer in front saves the connection setup at scale.
            "CONN_MAX_AGE": 0,
            **_pool_options(),
        }
    raise ValueError(f"Unsupported SAMTALE_DATABASE_URL scheme: {parsed.scheme!r}")


DEBUG = _env_bool("SAMTALE_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("SAMTALE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("SAMTALE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "samtale.core",
    "samtale.accounts",
    "samtale.crm",
    "samtale.inbox",
    "samtale.availability",
    "samtale.routing",
    "samtale.tickets",
    "samtale.deals",
    "samtale.feedback",
    "samtale.channels.email",  # app label "mail": its tables keep their names
    "samtale.channels.chat",
    "samtale.web",
    "samtale.api",
]

MIDDLEWARE = [
    "samtale.core.metrics.RequestMetricsMiddleware",
    "samtale.core.proxies.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "samtale.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "samtale.core.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "samtale.availability.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "samtale.core.middleware.OutOfRangeMiddleware",
]

ROOT_URLCONF = "samtale.urls"
ASGI_APPLICATION = "samtale.asgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["samtale.accounts.backends.MemberBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "samtale.web.context.permissions",
                "samtale.web.context.ui_strings",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("SAMTALE_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'samtale.sqlite3'}"
if DATABASE_URL.startswith("sqlite:///") and not DATABASE_URL.startswith("sqlite:////"):
    DATABASE_URL = "sqlite:////" + str((Path.cwd() / DATABASE_URL[len("sqlite:///") :]).resolve()).lstrip("/")
DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

REDIS_URL = os.environ.get("SAMTALE_REDIS_URL", "")
# Names everything this installation puts in a shared Redis (channel-layer channels and groups, cache
# keys): Redis pub/sub ignores the database number, so two installations (or a test run) on one
# Redis would otherwise receive each other's `inbox.1` events. Every process of one installation
# must agree: set it explicitly when they reach the database by different URLs.
SAMTALE_INSTALLATION = os.environ.get("SAMTALE_INSTALLATION") or hashlib.sha256(DATABASE_URL.encode()).hexdigest()[:12]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"samtale:{SAMTALE_INSTALLATION}:"},
        }
    }
    CACHES: dict[str, dict[str, object]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": SAMTALE_INSTALLATION,
        }
    }
    # Sessions read from the shared cache (written to both): one database query fewer per request.
    # Only with a cache every process shares: a sign-out must end the session in all of them.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "samtale.core.layers.LocalChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},  # statuses of every user, rate-limit windows
        }
    }

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nb", _("Norwegian Bokmål"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
NODE_MODULES = Path(os.environ.get("SAMTALE_NODE_MODULES", BASE_DIR.parent.parent / "node_modules"))
STATICFILES_DIRS = [("vendor/htmx", NODE_MODULES / "htmx.org" / "dist")] if (NODE_MODULES / "htmx.org").exists() else []
MEDIA_ROOT = DATA_DIR / "media"

# Behind a TLS-terminating proxy: X-Forwarded-For/-Proto are read only from these addresses
# (core/proxies.py removes them from anyone else's requests before this header is consulted).
SAMTALE_TRUSTED_PROXIES = [p.strip() for p in os.environ.get("SAMTALE_TRUSTED_PROXIES", "").split(",") if p.strip()]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SAMTALE_HTTPS = _env_bool("SAMTALE_HTTPS", False)
SAMTALE_HSTS_SECONDS = int(os.environ.get("SAMTALE_HSTS_SECONDS", str(365 * 24 * 3600)))
if SAMTALE_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = SAMTALE_HSTS_SECONDS

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

SAMTALE_TRASH_RETENTION_DAYS = int(os.environ.get("SAMTALE_TRASH_RETENTION_DAYS", "30"))
SAMTALE_ROLE_ADDRESSES = [
    a.strip()
    for a in os.environ.get(
        "SAMTALE_ROLE_ADDRESSES",
        "marketing,sales,noreply,no-reply,donotreply,do-not-reply,info,newsletter,news,mailer-daemon,postmaster,notifications",
    ).split(",")
    if a.strip()
]
# Email (E1): the listener, size limit, outgoing relay and retry schedule.
# A reader process parses the next batch of stored mail while the ingest loop stores the current one.
SAMTALE_INGEST_READER = _env_bool("SAMTALE_INGEST_READER", True)
SAMTALE_SMTP_HOST = os.environ.get("SAMTALE_SMTP_HOST", "127.0.0.1")
SAMTALE_SMTP_PORT = int(os.environ.get("SAMTALE_SMTP_PORT", "2525"))
SAMTALE_LMTP_PORT = int(os.environ.get("SAMTALE_LMTP_PORT", "0"))  # 0: no LMTP listener
SAMTALE_MAX_MESSAGE_BYTES = int(os.environ.get("SAMTALE_MAX_MESSAGE_BYTES", str(30 * 1024 * 1024)))
SAMTALE_EMAIL_RETRY_SECONDS = os.environ.get("SAMTALE_EMAIL_RETRY_SECONDS", "60,300,900,3600,14400")
# authserv-ids of MTAs in front of Samtale whose Authentication-Results headers are believed
# (mail.trust): a teammate's own mail is recognised when DKIM/DMARC passed for their domain there.
SAMTALE_TRUSTED_AUTHSERV_IDS = [
    a.strip() for a in os.environ.get("SAMTALE_TRUSTED_AUTHSERV_IDS", "").split(",") if a.strip()
]
SAMTALE_IMAP_POLL_SECONDS = int(os.environ.get("SAMTALE_IMAP_POLL_SECONDS", "60"))
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
SAMTALE_EMAIL_BACKEND = os.environ.get("SAMTALE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("SAMTALE_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("SAMTALE_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("SAMTALE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("SAMTALE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("SAMTALE_EMAIL_SECURITY", "none") == "starttls"
EMAIL_USE_SSL = os.environ.get("SAMTALE_EMAIL_SECURITY", "none") == "tls"
EMAIL_TIMEOUT = 30
# Mail Samtale itself sends (address confirmations), and the address its links in mail point at.
SAMTALE_SYSTEM_EMAIL = os.environ.get("SAMTALE_SYSTEM_EMAIL", "samtale@localhost")
SAMTALE_PUBLIC_URL = os.environ.get(
    "SAMTALE_PUBLIC_URL",
    f"http://{os.environ.get('SAMTALE_HOST', '127.0.0.1')}:{os.environ.get('SAMTALE_HTTP_PORT', '8000')}",
)
SAMTALE_CALENDAR_POLL_MINUTES = int(os.environ.get("SAMTALE_CALENDAR_POLL_MINUTES", "15"))
SAMTALE_CALENDAR_MAX_BYTES = int(os.environ.get("SAMTALE_CALENDAR_MAX_BYTES", str(5 * 1024 * 1024)))
# Feeds on loopback/private addresses are refused unless allowed (a feed URL must not reach internal services).
SAMTALE_CALENDAR_ALLOW_PRIVATE = _env_bool("SAMTALE_CALENDAR_ALLOW_PRIVATE", False)  # older name of the next
# Outgoing connections to addresses users give (feeds, channel mail servers, webhooks) may reach
# only public addresses, plus these networks (core/egress.py).
SAMTALE_EGRESS_ALLOW_PRIVATE = _env_bool("SAMTALE_EGRESS_ALLOW_PRIVATE", SAMTALE_CALENDAR_ALLOW_PRIVATE)
SAMTALE_EGRESS_ALLOWED_NETWORKS = [
    n.strip() for n in os.environ.get("SAMTALE_EGRESS_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
SAMTALE_FEED_RATE = os.environ.get("SAMTALE_FEED_RATE", "60/m")
# /metrics (Prometheus): a bearer token, or these client networks; /readyz fails past this ingest lag.
SAMTALE_METRICS_TOKEN = os.environ.get("SAMTALE_METRICS_TOKEN", "")
SAMTALE_METRICS_ALLOWED_IPS = [
    n.strip() for n in os.environ.get("SAMTALE_METRICS_ALLOWED_IPS", "127.0.0.1/32,::1/128").split(",") if n.strip()
]
SAMTALE_METRICS_PORT = int(os.environ.get("SAMTALE_METRICS_PORT", "0"))  # smtpd/worker: their own /metrics
SAMTALE_METRICS_HOST = os.environ.get("SAMTALE_METRICS_HOST", "127.0.0.1")
SAMTALE_READY_MAX_LAG_SECONDS = int(os.environ.get("SAMTALE_READY_MAX_LAG_SECONDS", "600"))
SAMTALE_LOGIN_RATE = os.environ.get("SAMTALE_LOGIN_RATE", "30/m")  # sign-in attempts per client address
SAMTALE_LOGIN_FREE_FAILURES = int(
    os.environ.get("SAMTALE_LOGIN_FREE_FAILURES", "5")
)  # then back off (per address and email)
# Contacts: the calling code of phone numbers written without one (47: Norway).
SAMTALE_DEFAULT_PHONE_COUNTRY = os.environ.get("SAMTALE_DEFAULT_PHONE_COUNTRY", "47").lstrip("+")
SAMTALE_FREE_MAIL_DOMAINS = os.environ.get("SAMTALE_FREE_MAIL_DOMAINS", "")  # added to crm.companies.FREE_MAIL
# Website chat (E2): how often one client address may open widget connections, and how many
# messages a visitor (and an address) may send; the largest file a visitor may send.
SAMTALE_CHAT_CONNECT_RATE = os.environ.get("SAMTALE_CHAT_CONNECT_RATE", "60/m")
# Connections that hold the web server without asking anything (core.httpguard).
SAMTALE_HTTP_HEADER_TIMEOUT = float(os.environ.get("SAMTALE_HTTP_HEADER_TIMEOUT", "10"))
SAMTALE_HTTP_BODY_IDLE_SECONDS = float(os.environ.get("SAMTALE_HTTP_BODY_IDLE_SECONDS", "30"))
SAMTALE_HTTP_BODY_TIMEOUT = float(os.environ.get("SAMTALE_HTTP_BODY_TIMEOUT", "600"))
SAMTALE_MAX_CONNECTIONS_PER_ADDRESS = int(os.environ.get("SAMTALE_MAX_CONNECTIONS_PER_ADDRESS", "256"))
# The SMTP listener: the longest wait for a command or a block of DATA (RFC 5321 4.5.3.2 asks for
# at least 5 minutes), and connections per client address.
SAMTALE_SMTP_TIMEOUT_SECONDS = float(os.environ.get("SAMTALE_SMTP_TIMEOUT_SECONDS", "300"))
SAMTALE_SMTP_MAX_CONNECTIONS_PER_ADDRESS = int(os.environ.get("SAMTALE_SMTP_MAX_CONNECTIONS_PER_ADDRESS", "20"))
# How often an open agent socket re-checks its session and access (changes made outside Samtale's
# screens and API: `samtale changepassword`, a shell, a migration).
SAMTALE_SOCKET_RECHECK_SECONDS = float(os.environ.get("SAMTALE_SOCKET_RECHECK_SECONDS", "60"))
SAMTALE_CHAT_SEND_RATE = os.environ.get("SAMTALE_CHAT_SEND_RATE", "30/m")
SAMTALE_CHAT_SEND_IP_RATE = os.environ.get("SAMTALE_CHAT_SEND_IP_RATE", "120/m")
SAMTALE_CHAT_TRANSCRIPT_IP_RATE = os.environ.get("SAMTALE_CHAT_TRANSCRIPT_IP_RATE", "5/h")
SAMTALE_CHAT_TRANSCRIPT_RATE = os.environ.get("SAMTALE_CHAT_TRANSCRIPT_RATE", "100/h")
# A CSV file of contacts to import (Contacts → Import), at most this large.
SAMTALE_IMPORT_MAX_BYTES = int(os.environ.get("SAMTALE_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
SAMTALE_MAX_REPLY_FILE_BYTES = int(os.environ.get("SAMTALE_MAX_REPLY_FILE_BYTES", str(20 * 1024 * 1024)))
SAMTALE_CHAT_MAX_FILE_BYTES = int(os.environ.get("SAMTALE_CHAT_MAX_FILE_BYTES", str(10 * 1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("SAMTALE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
