"""Patron settings.

Everything that differs between installs comes from the environment: the database
(`DATABASE_URL`, SQLite by default), the secret key, debug and allowed hosts.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PATRON_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("PATRON_DEBUG", False)


def _secret_key() -> str:
    """PATRON_SECRET_KEY from the environment; otherwise a key generated once for this install
    and kept in VAR_DIR/secret.key (readable by its owner only), so that sessions survive
    restarts and no key is ever shared between installs or committed."""
    key = os.environ.get("PATRON_SECRET_KEY", "")
    if key:
        return key
    if env_bool("PATRON_ALLOW_INSECURE_KEY", False):  # the test suite's throwaway key
        return "patron-insecure-test-key-never-used-by-a-running-install"  # noqa: S105
    key_file = VAR_DIR / "secret.key"
    if not key_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("PATRON_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("PATRON_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tasks_db",
    "ninja",
    "patron.core",
    "patron.customers",
    "patron.integration",
    "patron.webhooks",
    "patron.quality",
    "patron.sales",
    "patron.leads",
    "patron.commerce",
    "patron.billing",
    "patron.performance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "patron.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "patron.core.middleware.PrivateCacheMiddleware",
]

ROOT_URLCONF = "patron.urls"
WSGI_APPLICATION = "patron.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "patron" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'patron.sqlite3'}"),
        conn_max_age=int(os.environ.get("PATRON_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while a job writes; a busy timeout instead of "locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation pays off for long analytical queries, not for a CRM's short ones: on
    # 1M contacts it added ~60 ms to the contact page's timeline query, whose *estimated*
    # cost (a permission subquery) crosses jit_above_cost. See docs/benchmarks.md.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("PATRON_TEST_DB_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["patron.core.auth.PatronBackend"]  # the user with its role, one query
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("PATRON_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_ENGINE = "patron.core.sessions"  # Django's database sessions, read with plain SQL
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("PATRON_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}

# The cache holds counters that must be shared by every process (the lead capture rate limits):
# one process needs nothing; several set PATRON_CACHE_URL to Redis (`pip install redis`).
_CACHE_URL = os.environ.get("PATRON_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The seller's address on quotes, orders and invoices (one line per "|"); the name is the
# organisation's, from its settings.
PATRON_SELLER_ADDRESS = os.environ.get("PATRON_SELLER_ADDRESS", "")

# The default country used to read phone numbers typed without a country code.
PATRON_DEFAULT_PHONE_REGION = os.environ.get("PATRON_DEFAULT_PHONE_REGION", "GB")

# Webhooks may be sent to private, loopback and link-local addresses (development only).
PATRON_WEBHOOKS_ALLOW_PRIVATE = env_bool("PATRON_WEBHOOKS_ALLOW_PRIVATE", False)

# Entity resolution: pairs at or above the match probability are merged automatically, pairs
# between the review probability and it go to the review queue (empty: the model's defaults).
PATRON_MATCH_PROBABILITY = os.environ.get("PATRON_MATCH_PROBABILITY", "")
PATRON_REVIEW_PROBABILITY = os.environ.get("PATRON_REVIEW_PROBABILITY", "")

NINJA_PAGINATION_PER_PAGE = 50

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PATRON_LOG_LEVEL", "WARNING")},
}
