"""Settings shared by every environment, fed by django-environ.

Embedded default (nothing set): SQLite under ``var/``, in-memory channel layer,
local-memory cache and Celery tasks executed in-process.
Full mode: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (channel layer, cache,
Celery broker and results).
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-embedded-default-key-change-me-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications -------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "django_celery_beat",
    "axes",
    # project apps (DESIGN.md §3)
    "org",
    "audit",
    "banking",
    "banking.risk",
    "ivr",
    "calls",
    "agents",
    "tickets",
    "notifications",
    "reports",
    # the wiring on top (``seed_demo`` seeds every app: it imports each app's ``demo``)
    "contactcenter",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.CookieLocaleMiddleware",
    "core.middleware.ApiEdgeMiddleware",
    # Full card / account numbers in an /api/ query string: 400 number_in_url (they would be logged).
    "banking.middleware.NumberInUrlMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A service's refusal a page view did not catch: the page of its status, not a 500.
    "core.middleware.DomainErrorMiddleware",
    # AxesMiddleware last: it turns a lockout flagged during authentication into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "contactcenter.urls"
WSGI_APPLICATION = "contactcenter.wsgi.application"
ASGI_APPLICATION = "contactcenter.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "org.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------

DEFAULT_SQLITE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASE_URL = env.str("DATABASE_URL", default="") or DEFAULT_SQLITE_URL
try:
    _database = env.db_url_config(DATABASE_URL)
except Exception as exc:  # django-environ raises several types for a malformed URL
    raise ImproperlyConfigured(
        f"DATABASE_URL is not a valid database URL ({exc.__class__.__name__}). "
        "Expected e.g. postgres://user@127.0.0.1:5432/contactcenter, or leave it unset for SQLite."
    ) from None
if not _database.get("ENGINE") or not _database.get("NAME"):
    raise ImproperlyConfigured(
        "DATABASE_URL names no engine or database. "
        "Expected e.g. postgres://user@127.0.0.1:5432/contactcenter, or leave it unset for SQLite."
    )
USING_POSTGRES = _database["ENGINE"] == "django.db.backends.postgresql"
if USING_POSTGRES:
    # psycopg 3's pool instead of CONN_MAX_AGE: persistent connections leak under ASGI.
    if env.bool("DB_POOL", default=True):
        _database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN", default=1),
            "max_size": env.int("DB_POOL_MAX", default=10),
            "timeout": 10,
        }
    _database["CONN_MAX_AGE"] = 0
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    _database.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# The hot paths' written-out statements (core/rows.py) are prepared once per connection.
# Turn off behind a connection pooler in transaction mode (PgBouncer < 1.21), which cannot keep them.
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
if USING_POSTGRES and DB_PREPARED_STATEMENTS:
    # Django turns psycopg's statement preparation off (prepare_threshold None), and psycopg then
    # ignores even an explicit ``prepare=True``. The ORM's cursors bind on the client and never
    # prepare, whatever this says; only rows.py's server-binding cursor asks, and always explicitly.
    _database.setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1  # never by count, only when asked
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ----------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
FULL_STACK = bool(REDIS_URL)

if REDIS_URL:
    CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("CHANNELS_PREFIX", default="cc")},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="cc"),
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = None
    # Embedded default: tasks run in-process, errors surface where they are raised.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth ---------------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "org:login"
LOGIN_REDIRECT_URL = "org:home"
LOGOUT_REDIRECT_URL = "org:login"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)  # one shift
SESSION_COOKIE_HTTPONLY = True

# Staff login lockout (django-axes): by username, whatever the address.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "org.auth.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "pin", "card_number"]
AXES_VERBOSE = False

# --- Internationalisation -----------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # "recordings": set with the recordings' settings below.
}
WHITENOISE_USE_FINDERS = True

# --- API ----------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request then gets 401 with ``WWW-Authenticate: Token``.
        "org.authentication.ProfileTokenAuthentication",
        "core.api.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        # DRF's, bounded in size and depth (a body nested thousands deep is 400 malformed_json).
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # drf-spectacular's, plus error responses and nullability (core/api/schema.py).
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Contact Center API",
    "DESCRIPTION": "Phone-banking contact center of a rural cooperative bank: public contracts (DESIGN.md §6).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: the center's network has no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# A request refused by the CSRF check under /api/ gets the error envelope, not Django's page.
CSRF_FAILURE_VIEW = "core.api.exceptions.csrf_failure"

# --- Logging ------------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Project settings (domain rules live in the apps; their tunables here) ------------------------

# Health check: Redis is checked only when configured.
HEALTHZ_TIMEOUT_S = env.float("HEALTHZ_TIMEOUT_S", default=2.0)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo12345")

# Lockout is per account (username) on purpose: rotating addresses or browsers must not buy an
# attacker more guesses at one staff account. axes warns when the IP is not part of the key.
# The work-order indexes carry INCLUDE columns for PostgreSQL; SQLite (the embedded demo) ignores them.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "models.W040"]

# --- IVR (ivr/): engine limits, agent queue, prompt audio -----------------------------------------
# Invalid inputs plus timeouts a caller may make in one menu before the IVR gives up on it.
IVR_MAX_FAILURES = env.int("IVR_MAX_FAILURES", default=3)
# What happens then: "agent" (transfer to IVR_AGENT_QUEUE) or "goodbye" (goodbye and hang up).
IVR_FAILURE_ACTION = env.str("IVR_FAILURE_ACTION", default="agent")
IVR_AGENT_QUEUE = env.str("IVR_AGENT_QUEUE", default="general")
IVR_GATHER_TIMEOUT_S = env.int("IVR_GATHER_TIMEOUT_S", default=8)
IVR_RECENT_TRANSACTIONS = env.int("IVR_RECENT_TRANSACTIONS", default=10)
# Prompt audio: espeak-ng (Mandarin) then sox to 8 kHz mono, cached under MEDIA_ROOT/ivr-audio/.
IVR_TTS_BINARY = env.str("IVR_TTS_BINARY", default="espeak-ng")
IVR_TTS_VOICE = env.str("IVR_TTS_VOICE", default="cmn")
IVR_SOX_BINARY = env.str("IVR_SOX_BINARY", default="sox")
IVR_TTS_TIMEOUT_S = env.int("IVR_TTS_TIMEOUT_S", default=30)
# Prefix of the audio_url of say actions ("" = a path on this host; e.g. https://cc.example.cn).
IVR_AUDIO_BASE_URL = env.str("IVR_AUDIO_BASE_URL", default="")

# VoiceXML <transfer dest>: where the platform sends a caller for an agent queue.
IVR_VXML_TRANSFER_URI = env.str("IVR_VXML_TRANSFER_URI", default="sip:{queue}@acd.invalid")

# --- Core banking (banking/) ---------------------------------------------------------------------
# Core banking (DESIGN.md §4). Money in fen: 5,000,000 fen = 50,000.00 yuan.
BANKING_TRANSFER_LIMIT_FEN = env.int("BANKING_TRANSFER_LIMIT_FEN", default=5_000_000)
BANKING_DAILY_LIMIT_FEN = env.int("BANKING_DAILY_LIMIT_FEN", default=10_000_000)  # per registration per day
BANKING_PASSWORD_MAX_ATTEMPTS = env.int("BANKING_PASSWORD_MAX_ATTEMPTS", default=3)
BANKING_LOSS_REPORT_VALID_DAYS = env.int("BANKING_LOSS_REPORT_VALID_DAYS", default=5)
BANKING_LOSS_REPORT_REMIND_HOURS = env.int("BANKING_LOSS_REPORT_REMIND_HOURS", default=24)
BANKING_SMS_SIGNATURE = env.str("BANKING_SMS_SIGNATURE", default="【农合银行】")

# SMS delivery (notifications.delivery, docs/notifications.md): the gateway ("file" writes
# SMS_FILE_DIR, "http" posts to SMS_HTTP_URL, "smpp" binds to an SMSC), retries and the sweep.
SMS_GATEWAY = env.str("SMS_GATEWAY", default="file")
SMS_FILE_DIR = env.str("SMS_FILE_DIR", default=str(VAR_DIR / "sms"))
SMS_HTTP_URL = env.str("SMS_HTTP_URL", default="")
SMS_HTTP_SECRET = env.str("SMS_HTTP_SECRET", default="")
SMS_HTTP_TIMEOUT_S = env.float("SMS_HTTP_TIMEOUT_S", default=5.0)
SMS_SMPP_HOST = env.str("SMS_SMPP_HOST", default="127.0.0.1")
SMS_SMPP_PORT = env.int("SMS_SMPP_PORT", default=2775)
SMS_SMPP_SYSTEM_ID = env.str("SMS_SMPP_SYSTEM_ID", default="")
SMS_SMPP_PASSWORD = env.str("SMS_SMPP_PASSWORD", default="")
SMS_SMPP_SYSTEM_TYPE = env.str("SMS_SMPP_SYSTEM_TYPE", default="")
SMS_SMPP_ENQUIRE_LINK_S = env.int("SMS_SMPP_ENQUIRE_LINK_S", default=30)
SMS_SMPP_TIMEOUT_S = env.int("SMS_SMPP_TIMEOUT_S", default=10)
SMS_SOURCE_ADDR = env.str("SMS_SOURCE_ADDR", default="95580")
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=6)
SMS_RETRY_BASE_S = env.int("SMS_RETRY_BASE_S", default=30)
SMS_RETRY_MAX_S = env.int("SMS_RETRY_MAX_S", default=3600)
# A row still "sending" this long after its claim is reconciled with the gateway.
SMS_SENDING_STALE_S = env.int("SMS_SENDING_STALE_S", default=120)
SMS_BATCH = env.int("SMS_BATCH", default=20)
# SMS sending policy (notifications.policy; docs/notifications.md "Rate limits and quiet hours").
# Quiet hours, marketing only: "HH:MM-HH:MM" local in SMS_QUIET_HOURS_TZ (start inclusive, end
# exclusive; empty: none); a marketing message due inside them is deferred to their end.
SMS_QUIET_HOURS = env.str("SMS_QUIET_HOURS", default="21:00-08:00")
SMS_QUIET_HOURS_TZ = env.str("SMS_QUIET_HOURS_TZ", default="Asia/Shanghai")
# Marketing per phone, rolling windows (0: no limit): over the quota the message is cancelled.
SMS_MARKETING_MAX_PER_DAY = env.int("SMS_MARKETING_MAX_PER_DAY", default=1)
SMS_MARKETING_MAX_PER_30_DAYS = env.int("SMS_MARKETING_MAX_PER_30_DAYS", default=4)
# Marketing to all phones per minute (0: no limit): over it the message is deferred.
SMS_MARKETING_MAX_PER_MINUTE = env.int("SMS_MARKETING_MAX_PER_MINUTE", default=600)
# Every kind: at most SMS_FLOOD_MAX messages to one phone in SMS_FLOOD_WINDOW_S (0: no limit); the
# excess is deferred, never dropped.
SMS_FLOOD_MAX = env.int("SMS_FLOOD_MAX", default=10)
SMS_FLOOD_WINDOW_S = env.int("SMS_FLOOD_WINDOW_S", default=600)
# Key of the ID-number digest; empty falls back to SECRET_KEY (set it so SECRET_KEY can rotate).
BANKING_ID_DIGEST_KEY = env.str("BANKING_ID_DIGEST_KEY", default="")

# --- Risk monitoring (banking/risk/, docs/risk.md) -------------------------------------------------
# The rules' thresholds. Windows end at the event evaluated; money in fen (2,000,000 = ¥20,000).
RISK_PASSWORD_FAILURES = env.int("RISK_PASSWORD_FAILURES", default=5)  # wrong passwords on one account...
RISK_PASSWORD_WINDOW_MINUTES = env.int("RISK_PASSWORD_WINDOW_MINUTES", default=60)  # ...within this
RISK_LOCKOUTS = env.int("RISK_LOCKOUTS", default=2)  # phone-banking lockouts of one account...
RISK_LOCKOUT_WINDOW_HOURS = env.int("RISK_LOCKOUT_WINDOW_HOURS", default=24)  # ...within this
RISK_TRANSFER_BURST_COUNT = env.int("RISK_TRANSFER_BURST_COUNT", default=5)  # transfers out of one account...
RISK_TRANSFER_BURST_MINUTES = env.int("RISK_TRANSFER_BURST_MINUTES", default=10)  # ...within this
# A transfer out this soon after a loss report, a registration change or the target's linking.
RISK_TRANSFER_AFTER_CHANGE_HOURS = env.int("RISK_TRANSFER_AFTER_CHANGE_HOURS", default=24)
# ...but what was done while the account was being set up (this long after opening) is no change.
RISK_ACCOUNT_SETUP_MINUTES = env.int("RISK_ACCOUNT_SETUP_MINUTES", default=10)
RISK_LARGE_TRANSFER_FEN = env.int("RISK_LARGE_TRANSFER_FEN", default=2_000_000)
RISK_IVR_NUMBERS_PER_PHONE = env.int("RISK_IVR_NUMBERS_PER_PHONE", default=3)  # distinct numbers from one phone...
RISK_IVR_NUMBERS_WINDOW_MINUTES = env.int("RISK_IVR_NUMBERS_WINDOW_MINUTES", default=60)  # ...within this
RISK_BALANCE_PHONES = env.int("RISK_BALANCE_PHONES", default=3)  # phones asking one account's balance...
RISK_BALANCE_WINDOW_HOURS = env.int("RISK_BALANCE_WINDOW_HOURS", default=24)  # ...within this
# Batch credits to one account within the window: above this total or this many items.
RISK_BATCH_ACCOUNT_FEN = env.int("RISK_BATCH_ACCOUNT_FEN", default=1_000_000)
RISK_BATCH_ACCOUNT_ITEMS = env.int("RISK_BATCH_ACCOUNT_ITEMS", default=3)
RISK_BATCH_WINDOW_DAYS = env.int("RISK_BATCH_WINDOW_DAYS", default=31)
# Evaluator: rows per transaction, and how long a hole in a source's ids (a transaction still
# open, or rolled back) holds the watermark before it is taken as a rollback and passed.
RISK_SCAN_BATCH = env.int("RISK_SCAN_BATCH", default=2000)
RISK_GAP_SETTLE_SECONDS = env.int("RISK_GAP_SETTLE_SECONDS", default=60)


# --- Tickets (tickets/): work-order deadlines, escalation, attachments, adjustments ---------------
# Deadlines (DESIGN.md §4; tickets/deadlines.py): mis-posting / refund posting in working days, other
# complaints in calendar days, each extension stage (two at most) in calendar days after receipt.
TICKETS_POSTING_DUE_WORKING_DAYS = env.int("TICKETS_POSTING_DUE_WORKING_DAYS", default=5)
TICKETS_COMPLAINT_DUE_DAYS = env.int("TICKETS_COMPLAINT_DUE_DAYS", default=15)
TICKETS_EXTENSION_STAGE_DAYS = env.int("TICKETS_EXTENSION_STAGE_DAYS", default=30)
# Reminder to the unit this long before the due time; escalation once it has passed.
TICKETS_REMIND_BEFORE_HOURS = env.int("TICKETS_REMIND_BEFORE_HOURS", default=24)
TICKETS_ATTACHMENT_MAX_BYTES = env.int("TICKETS_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
# Outside MEDIA_ROOT on purpose: attachments are served only by the scoped download view.
TICKETS_ATTACHMENT_ROOT = env.path("TICKETS_ATTACHMENT_ROOT", default=str(VAR_DIR / "ticket-attachments"))
# Internal ledger account on the other side of work-order adjustments (INT-<code>).
TICKETS_ADJUSTMENT_ACCOUNT = env.str("TICKETS_ADJUSTMENT_ACCOUNT", default="ADJUSTMENT")
# An adjustment above this amount (fen; 5,000,000 = ¥50,000) is posted only once the director approves it.
TICKETS_ADJUSTMENT_APPROVAL_FEN = env.int("TICKETS_ADJUSTMENT_APPROVAL_FEN", default=5_000_000)
# The most a unit may confirm for one work order (fen; 50,000,000 = ¥500,000): above it is a typo.
TICKETS_ADJUSTMENT_MAX_FEN = env.int("TICKETS_ADJUSTMENT_MAX_FEN", default=50_000_000)


# --- Calls and agents (calls/, agents/): routing, CTI, wallboard -----------------------------------
# An offer not answered within this time goes to the next agent; the first is set not ready.
CALLS_OFFER_TIMEOUT_S = env.int("CALLS_OFFER_TIMEOUT_S", default=15)
# Priority of callers verified in the IVR over the others (0: no priority, first come first served).
CALLS_VERIFIED_PRIORITY = env.int("CALLS_VERIFIED_PRIORITY", default=1)
# KPI thresholds (DESIGN.md §5): service-level threshold T and short-abandon threshold S.
CALLS_SERVICE_LEVEL_T_S = env.int("CALLS_SERVICE_LEVEL_T_S", default=20)
CALLS_SHORT_ABANDON_S = env.int("CALLS_SHORT_ABANDON_S", default=5)
# The wallboard flags a queue whose service level today is below this target.
CALLS_SERVICE_LEVEL_TARGET = env.float("CALLS_SERVICE_LEVEL_TARGET", default=0.8)
# Reports: seconds between an interval becoming dirty and its rollup's refresh (events arriving
# meanwhile are folded into the same refresh).
REPORTS_REFRESH_DELAY_S = env.int("REPORTS_REFRESH_DELAY_S", default=2)
# Full mode: a process collects the intervals its calls' changes touched for this long and marks
# them dirty in one statement (not one after every CTI event's commit); 0 marks at once (the
# embedded default, whose SQLite wants no second writer thread).
REPORTS_MARK_FLUSH_S = env.float("REPORTS_MARK_FLUSH_S", default=0.5 if REDIS_URL else 0.0)
# Where an IVR transfer to an unknown queue goes.
CALLS_DEFAULT_QUEUE = env.str("CALLS_DEFAULT_QUEUE", default="general")
# CTI events older than this (historical loads) never change an agent's live state.
CALLS_LIVE_WINDOW_S = env.int("CALLS_LIVE_WINDOW_S", default=600)
# Calls waiting longer than this are stale (a lost end event): never routed, not on the wallboard.
CALLS_ROUTE_MAX_AGE_S = env.int("CALLS_ROUTE_MAX_AGE_S", default=3600)
# A CTI timestamp may be ahead of this server's clock by at most this much.
CALLS_TS_FUTURE_TOLERANCE_S = env.int("CALLS_TS_FUTURE_TOLERANCE_S", default=300)
CALLS_MAX_BATCH = env.int("CALLS_MAX_BATCH", default=1000)
# One event per request (as switches send them) takes calls/fastpath.py on PostgreSQL: one
# statement records it; off: the batch path (the same result, about ten statements).
CALLS_CTI_FAST_PATH = env.bool("CALLS_CTI_FAST_PATH", default=True)
# Wallboard pushes are coalesced to at most one per interval; the routing sweep runs every second.
CALLS_WALLBOARD_INTERVAL_S = env.float("CALLS_WALLBOARD_INTERVAL_S", default=0.5)
CALLS_SWEEP_INTERVAL_S = env.float("CALLS_SWEEP_INTERVAL_S", default=1.0)
CALLS_SWEEP_IN_WEBSOCKET_PROCESS = env.bool("CALLS_SWEEP_IN_WEBSOCKET_PROCESS", default=True)
CALLS_SCREEN_POP_TRANSACTIONS = env.int("CALLS_SCREEN_POP_TRANSACTIONS", default=5)
# After-call work left open this long is closed automatically (disposition "auto"; 0: never).
AGENTS_ACW_TIMEOUT_S = env.int("AGENTS_ACW_TIMEOUT_S", default=300)
# The wallboard flags an agent in after-call work or not ready for longer than these.
AGENTS_ALERT_ACW_S = env.int("AGENTS_ALERT_ACW_S", default=120)
AGENTS_ALERT_NOT_READY_S = env.int("AGENTS_ALERT_NOT_READY_S", default=900)
# Presence (agents/presence.py): an agent whose desktop sockets have all been closed this long goes
# offline (state-log reason "disconnected"; 0: never); a desktop socket refreshes its entry every
# heartbeat and an entry not refreshed for three heartbeats is gone (a killed websocket process);
# an offer ringing a desktop gone for the grace time is withdrawn and the call routed again.
# Callbacks an agent schedules: due from now (minus this tolerance) to this many days ahead.
AGENTS_CALLBACK_PAST_TOLERANCE_S = env.int("AGENTS_CALLBACK_PAST_TOLERANCE_S", default=300)
AGENTS_CALLBACK_MAX_AHEAD_DAYS = env.int("AGENTS_CALLBACK_MAX_AHEAD_DAYS", default=30)
AGENTS_DISCONNECT_OFFLINE_S = env.int("AGENTS_DISCONNECT_OFFLINE_S", default=60)
AGENTS_PRESENCE_HEARTBEAT_S = env.float("AGENTS_PRESENCE_HEARTBEAT_S", default=10.0)
AGENTS_DISCONNECT_RING_GRACE_S = env.float("AGENTS_DISCONNECT_RING_GRACE_S", default=5.0)
# --- Recordings (calls/recordings/, docs/recordings.md) -------------------------------------------
# Files sit behind the named storage "recordings" (STORAGES): a directory outside MEDIA_ROOT (never
# served by /media/, only by the authorised audio view), or an S3-compatible bucket
# (django-storages) when RECORDINGS_S3_BUCKET is set.
RECORDINGS_ROOT = env.path("RECORDINGS_ROOT", default=str(VAR_DIR / "recordings"))
RECORDINGS_S3_BUCKET = env.str("RECORDINGS_S3_BUCKET", default="")
RECORDINGS_S3_ENDPOINT_URL = env.str("RECORDINGS_S3_ENDPOINT_URL", default="")  # empty: AWS itself
RECORDINGS_S3_REGION = env.str("RECORDINGS_S3_REGION", default="")
RECORDINGS_S3_ACCESS_KEY = env.str("RECORDINGS_S3_ACCESS_KEY", default="")  # empty: boto3's chain
RECORDINGS_S3_SECRET_KEY = env.str("RECORDINGS_S3_SECRET_KEY", default="")
RECORDINGS_S3_PREFIX = env.str("RECORDINGS_S3_PREFIX", default="recordings")
# The largest file the switch may upload (bytes; an hour of 8 kHz 16-bit mono WAV is ~58 MB).
RECORDINGS_MAX_BYTES = env.int("RECORDINGS_MAX_BYTES", default=200 * 1024 * 1024)
# Files older than this are purged (rows stay) unless on legal hold or linked to an open work
# order or an open risk alert.
RECORDINGS_RETENTION_DAYS = env.int("RECORDINGS_RETENTION_DAYS", default=1825)
# One playback = one user's audio requests for one recording with no gap longer than this.
RECORDINGS_PLAYBACK_WINDOW_S = env.int("RECORDINGS_PLAYBACK_WINDOW_S", default=600)
STORAGES["recordings"] = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": RECORDINGS_S3_BUCKET,
            "endpoint_url": RECORDINGS_S3_ENDPOINT_URL or None,
            "region_name": RECORDINGS_S3_REGION or None,
            "access_key": RECORDINGS_S3_ACCESS_KEY or None,
            "secret_key": RECORDINGS_S3_SECRET_KEY or None,
            "location": RECORDINGS_S3_PREFIX,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    if RECORDINGS_S3_BUCKET
    else {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(RECORDINGS_ROOT)}}
)

if REDIS_URL:
    # channels_redis waits for messages with BZPOPMIN for 5 s; redis-py 8 reads with a 5 s socket
    # timeout by default, so an idle websocket's read sometimes times out first and the consumer
    # dies (the desktop then reconnects). A longer socket timeout on the layer's pool avoids it.
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [{"address": REDIS_URL, "socket_timeout": 15}]

# Outbound campaigns (docs/outbound.md): the center-wide calling window (local time, every
# campaign's own window lies within it), at most N marketing calls reaching one number in 7 days
# (any campaign), and where uploaded lists wait for their import task.
OUTBOUND_WINDOW = env.str("OUTBOUND_WINDOW", default="09:00-20:00")
OUTBOUND_MARKETING_PER_WEEK = env.int("OUTBOUND_MARKETING_PER_WEEK", default=1)
OUTBOUND_IMPORT_DIR = env.path("OUTBOUND_IMPORT_DIR", default=str(VAR_DIR / "outbound-imports"))
# Outbound dialing (calls.outbound.dialer; docs/cti.md "The switch contract").
OUTBOUND_RESEND_AFTER_S = env.float("OUTBOUND_RESEND_AFTER_S", default=5.0)
OUTBOUND_ACK_GIVE_UP_S = env.float("OUTBOUND_ACK_GIVE_UP_S", default=60.0)
OUTBOUND_DIAL_TIMEOUT_S = env.float("OUTBOUND_DIAL_TIMEOUT_S", default=120.0)
OUTBOUND_CANCEL_REPLAY_S = env.float("OUTBOUND_CANCEL_REPLAY_S", default=600.0)
OUTBOUND_BLEND_MIN_SL = env.float("OUTBOUND_BLEND_MIN_SL", default=0.8)
OUTBOUND_BLEND_WINDOW_S = env.float("OUTBOUND_BLEND_WINDOW_S", default=900.0)
OUTBOUND_BLEND_MIN_CALLS = env.int("OUTBOUND_BLEND_MIN_CALLS", default=5)
OUTBOUND_PREVIEW_HOLD_S = env.int("OUTBOUND_PREVIEW_HOLD_S", default=900)
# An answered dial with no outcome recorded this long after it ended is closed as failed and retried.
OUTBOUND_OUTCOME_GRACE_S = env.int("OUTBOUND_OUTCOME_GRACE_S", default=1800)

# Periodic tasks, all of them and only here: django-celery-beat's database scheduler writes these
# entries into its tables each time beat starts (their timing and arguments are reset to these,
# an entry the maintainer disabled under "Scheduled tasks" in the admin stays disabled).
CELERY_BEAT_SCHEDULE = {
    "banking-loss-reports-expire": {"task": "banking.loss_reports_expire", "schedule": 300.0},
    "banking-loss-report-reminders": {"task": "banking.loss_report_reminders_send", "schedule": 900.0},
    # Last month's POS prize list from the card department's folder, made into a batch once.
    "banking-pos-prize-drop": {"task": "banking.pos_prize_batch_from_drop", "schedule": 3600.0},
    "risk-evaluate": {"task": "risk.evaluate", "schedule": 5.0, "options": {"expire_seconds": 10}},
    # Offer timeouts, overflow, callback offers, forgotten after-call work. The websocket processes
    # run the same sweep on their own ticker; a run older than 5 s is dropped, not queued up.
    "calls-sweep": {"task": "calls.sweep", "schedule": 1.0, "options": {"expire_seconds": 5}},
    # Reminders before a work order's due time and escalations after it.
    "tickets-escalate": {"task": "tickets.escalate", "schedule": 900.0},
    # Rollups: agent states and the IVR change with time; the sweep repairs a lost dirty mark.
    "reports-refresh": {"task": "reports.refresh", "schedule": 60.0, "options": {"expire_seconds": 50}},
    "reports-sweep": {"task": "reports.sweep", "schedule": 600.0},
    # SMS rows no task got (the database function's, a process that died after its commit) and
    # rows left "sending" by a crash.
    "notifications-sweep": {"task": "notifications.sweep", "schedule": 15.0, "options": {"expire_seconds": 14}},
    # Quality scoring: last ISO week's random sample per agent, proposed to the leads on Mondays.
    "agents-qa-sample": {"task": "agents.qa_sample_weekly", "schedule": crontab(minute=30, hour=6, day_of_week="mon")},
    # Recordings (docs/recordings.md): the integrity check and the retention purge, at night.
    "recordings-verify": {"task": "recordings.verify", "schedule": crontab(hour=2, minute=30)},
    "recordings-purge": {"task": "recordings.purge", "schedule": crontab(hour=3, minute=45)},
    # Closed work orders and work-order callbacks into the running revisit campaigns (idempotent).
    "outbound-feed-revisits": {"task": "outbound.feed_revisits", "schedule": 600.0},
}
