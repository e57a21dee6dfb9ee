"""ONCO-HDF settings, driven by environment variables only.

With no environment set this is the *embedded default*: SQLite next to the code, Celery
tasks executed in-process, DEBUG on, a development secret key. Production sets at least
``DEBUG=0``, ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``CELERY_BROKER_URL``;
in that mode ``manage.py check --deploy`` reports nothing.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-onco-hdf-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "simple_history",
    "onco_hdf",
    "surveys",
    "contouring",
    "cyber_continuity",
    "habilitations",
]

MIDDLEWARE = [
    "onco_hdf.middleware.HealthCheckMiddleware",  # first: before the host and HTTPS checks
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "onco_hdf.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "onco_hdf.middleware.SessionLimitMiddleware",
    "onco_hdf.middleware.RefuseUnstorableInputMiddleware",
    "onco_hdf.middleware.PdfTooSlowMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "onco_hdf.urls"
WSGI_APPLICATION = "onco_hdf.wsgi.application"

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
                "onco_hdf.context_processors.platform",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
# Production: ``migrate`` connects as the owner of the tables and grants this role (the one
# in the web's and worker's DATABASE_URL) row access only; see README "Security".
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any other backend runs.
    "axes.backends.AxesStandaloneBackend",
    *env_list("EXTRA_AUTHENTICATION_BACKENDS"),
    "django.contrib.auth.backends.ModelBackend",
]
# An OpenID Connect provider (Pro Santé Connect) is added by configuration: install the
# client library, list its backend in EXTRA_AUTHENTICATION_BACKENDS and its URLs in
# OIDC_URLCONF; the login page then shows OIDC_LOGIN_LABEL as a second way in.
OIDC_URLCONF = os.environ.get("OIDC_URLCONF", "")
OIDC_LOGIN_URL_NAME = os.environ.get("OIDC_LOGIN_URL_NAME", "oidc_authentication_init")
OIDC_LOGIN_LABEL = os.environ.get("OIDC_LOGIN_LABEL", "Pro Santé Connect")

LOGIN_URL = "account:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(hours=float(os.environ.get("AXES_COOLOFF_HOURS", "1")))
# The lock lasts the cool-off from the last counted failure; tries during it do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Per account and address: a hospital behind one NAT is not locked out by one user.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Second factor: TOTP for regional roles. The embedded demo may switch it off;
# a system check refuses that when DEBUG is off.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", True)
# Artefacts the COPIL decides on cannot be published or used before it validated them.
COPIL_GATES_ENFORCED = env_bool("COPIL_GATES_ENFORCED", True)
OTP_TOTP_ISSUER = "ONCO-HDF Radiothérapie"

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["onco_hdf.formats"]

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads (DICOM zips can be large); apps read their own limits from here.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Survey outputs never show a count of respondents below this (surveys/suppression.py).
SURVEY_MIN_CELL = int(os.environ.get("SURVEY_MIN_CELL", "3"))
# Free text typed in any form (a clause, a comment, a description): longer is refused.
FORM_TEXT_MAX_LENGTH = int(os.environ.get("FORM_TEXT_MAX_LENGTH", "20000"))
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_MB", "500")) * 1024 * 1024
# A CT series may come as one file per slice (plus its reference): Django's own limit on
# the number of files in one request must not be lower than the contouring app's.
CONTOURING_MAX_FILES = int(os.environ.get("CONTOURING_MAX_FILES", "3000"))
DATA_UPLOAD_MAX_NUMBER_FILES = CONTOURING_MAX_FILES + 10
# Pairs of one structure a comparison task computes at once (threads of one worker
# process: the KD-tree queries and array work release the GIL; same figures with 1).
CONTOURING_COMPARE_THREADS = max(1, int(os.environ.get("CONTOURING_COMPARE_THREADS", "2")))

WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ONCO-HDF <noreply@onco-hdf.fr>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Public address printed in documents (QR codes, links in e-mails). A production start
# keeps the embedded default only at the price of a --deploy error (onco_hdf.checks).
SITE_URL_DEFAULT = "http://127.0.0.1:8000"
SITE_URL = os.environ.get("SITE_URL", SITE_URL_DEFAULT)

# --- Signing of official PDFs (PAdES, onco_hdf.signing) --------------------------------
# Production: a PKCS#12 file (certificate and key) and its password. Without one, the
# embedded mode creates a self-signed certificate under SIGNING_DIR on first use, which a
# --deploy check refuses in production. A time-stamping authority only when configured.
SIGNING_P12 = os.environ.get("ONCO_SIGNING_P12", "")
SIGNING_P12_PASSWORD = os.environ.get("ONCO_SIGNING_P12_PASSWORD", "")
SIGNING_DIR = os.environ.get("ONCO_SIGNING_DIR", "")  # empty: MEDIA_ROOT/private/signing
SIGNING_TSA_URL = os.environ.get("ONCO_SIGNING_TSA_URL", "")
# Certificates the platform signed with before the current one (PEM files, comma-separated):
# copies issued with them still verify after the certificate is renewed.
SIGNING_PREVIOUS_CERTS = env_list("ONCO_SIGNING_PREVIOUS_CERTS", "")
# Public verification by upload: largest file taken, and requests per client and window.
VERIFY_UPLOAD_MAX_BYTES = int(os.environ.get("VERIFY_UPLOAD_MAX_MB", "20")) * 1024 * 1024
VERIFY_RATE_LIMIT = int(os.environ.get("VERIFY_RATE_LIMIT", "30"))
VERIFY_RATE_WINDOW_SECONDS = int(os.environ.get("VERIFY_RATE_WINDOW_SECONDS", "600"))

# Cache (rate-limit counters): per process by default; CACHE_URL (redis://...) shares it
# between the web processes, so a limit holds for the whole site.
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# No broker: tasks run in-process (embedded default), still after the commit.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A dead worker must lose nothing: acknowledge only after the work is done and give the
# message back to the broker when the worker process disappears.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The queue tasks are sent to, also by a worker sending the next step of a job (a comparison
# run's final step): a deployment, a test or a benchmark may give its workers a queue of its own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_BROKER_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "7200"))
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
# Time limits stay below the visibility timeout, or Redis would redeliver a running task.
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "3600"))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TIMEZONE = TIME_ZONE
# Publishing gives up quickly when the broker is down: the job stays pending and the
# sweeper sends it when the broker is back (a request never hangs on a dead broker).
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "3"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Jobs: a running job writes a heartbeat every JOB_HEARTBEAT_SECONDS; the sweeper (beat,
# every minute) gives back a running job silent for JOB_STALE_SECONDS, re-sends a pending
# job not taken after JOB_PENDING_RESEND_SECONDS, and fails a job after JOB_MAX_ATTEMPTS
# runs or JOB_PENDING_MAX_HOURS of waiting.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "10"))
JOB_STALE_SECONDS = float(os.environ.get("JOB_STALE_SECONDS", "120"))
JOB_PENDING_RESEND_SECONDS = float(os.environ.get("JOB_PENDING_RESEND_SECONDS", "300"))
JOB_PENDING_MAX_HOURS = float(os.environ.get("JOB_PENDING_MAX_HOURS", "24"))
JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", "3"))
JOB_SWEEP_SECONDS = float(os.environ.get("JOB_SWEEP_SECONDS", "60"))
CELERY_BEAT_SCHEDULE: dict = {}  # apps add their periodic tasks in their AppConfig.ready

# PDF layout time limits: a page that renders a PDF while the user waits (below
# gunicorn's 120 s timeout), and a report job (below its Celery soft time limit).
PDF_RENDER_SECONDS = float(os.environ.get("PDF_RENDER_SECONDS", "60"))
PDF_JOB_RENDER_SECONDS = float(os.environ.get("PDF_JOB_RENDER_SECONDS", "600"))
REPORT_TASK_SOFT_TIME_LIMIT = int(PDF_JOB_RENDER_SECONDS) + 120
REPORT_TASK_TIME_LIMIT = REPORT_TASK_SOFT_TIME_LIMIT + 60

# --- Security (production mode = DEBUG off) -------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Idle timeout, sliding: every request pushes the expiry back (cookie and stored session).
SESSION_COOKIE_AGE = int(float(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60)
SESSION_SAVE_EVERY_REQUEST = True
# Absolute limit from the login, however active the session (onco_hdf.middleware).
SESSION_ABSOLUTE_SECONDS = int(float(os.environ.get("SESSION_ABSOLUTE_HOURS", "8")) * 3600)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# No inline code anywhere (scripts, style attributes, handlers): JS and CSS are static
# files, charts are SVG with presentation attributes. tests/onco_hdf/test_csp.py holds it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Secure, whole site, no Domain: a sibling sub-domain cannot set or overwrite them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

PLATFORM_VERSION = os.environ.get("PLATFORM_VERSION", "0.1.0")

# Crisis SMS: dotted path to a callable ``fn(*, phone, message)`` that a deployment plugs
# into its SMS gateway; the default only logs the message.
CYBER_CONTINUITY_SMS_HOOK = os.environ.get(
    "CYBER_CONTINUITY_SMS_HOOK", "cyber_continuity.services.sms_log_only"
)
