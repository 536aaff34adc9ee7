"""Settings for simple RBAS: every knob comes from the environment (a `.env` file is read when
present; real environment variables win). `.env.example` documents each variable.

The module fails safe: it refuses to start without a real SECRET_KEY outside DEBUG, and with a
cookie configuration that browsers would silently reject.
"""

import base64
import hashlib
import hmac
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from simple_rbas import origins
from simple_rbas.logging import json_logging
from simple_rbas.signing_key import lazy_generated_rsa_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
    env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or .env (DEBUG=true allows a "
            "throwaway development key)."
        )
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True

INSTALLED_APPS = [
    "users.apps.OwnerAdminConfig",  # Django's admin, for active owners only
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "audit",
    "users",
    "vault",
    # Before django_tasks_db: its `db_worker` command extends theirs (see scripts_api).
    "scripts_api",
    "notifications",
    "schedules",
    "oauth2_provider",
    "provider",
    "web",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "simple_rbas.middleware.RequestLogMiddleware",
    # The client address (DRF's NUM_PROXIES rule) for the audit events a request records.
    "audit.context.ClientAddressMiddleware",
    # A view failing because the database is unreachable answers 503, not 500
    # (simple_rbas.errors.server_error does the same for failures in middleware).
    "simple_rbas.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Views are CSRF-exempt (DRF); the authentication class runs Django's check itself for
    # cookie-authenticated requests. The middleware still issues the `csrftoken` cookie.
    "django.middleware.csrf.CsrfViewMiddleware",
    # Sessions, auth and messages serve the Django admin only; the API uses JWT cookies.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Messages for the admin's pages; skipped on /api/, where nothing uses them.
    "simple_rbas.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "simple_rbas.urls"
WSGI_APPLICATION = "simple_rbas.wsgi.application"
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
            ]
        },
    }
]

# --- Database and cache ---------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock at BEGIN, so check-then-write services (the last
            # owner rule, refresh rotation) are serialised on SQLite as row locks do on PostgreSQL.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that tests can start real workers on the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
    # Reusing a thread's connection saves the file's open and PRAGMAs on every request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool per process (psycopg's, through Django): request threads, including the many that
    # hold long-polls, borrow a connection only while they use one, so a process never holds
    # more than DATABASE_POOL_SIZE however many threads it runs. During an outage a request
    # waits DATABASE_POOL_TIMEOUT seconds for a connection, then answers 503.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_SIZE", default=10),
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=3),
        # The pool retries a lost database with a doubling back-off (psycopg's default gives up
        # after 5 minutes), so after a long outage it could sleep a minute past the database's
        # return. Giving up after 2 s means the next request that needs a connection starts a
        # new round at once: the service is back within about a second of its database.
        "reconnect_timeout": 2,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttle counts must be shared by every process that serves requests: a per-process cache
# (locmemcache://) lets each gunicorn process allow the whole rate again. The default is a table
# in the service's own database (run_web.sh creates it with `createcachetable`), which every
# process and, on PostgreSQL, every pod shares; redis://... does the same with less load.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://rbas_cache")}
# Django's caches keep 300 entries, then evict a third of them, live throttle counts included:
# a few hundred attempts under made-up usernames would reset the count of the name under attack.
# (`?max_entries=` in CACHE_URL overrides this; Redis evicts by its own rules.)
CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 20_000)

# --- Accounts -------------------------------------------------------------------------------

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIGNUP_ALLOWED_DOMAINS = [d.lower() for d in env.list("SIGNUP_ALLOWED_DOMAINS", default=[])]
# Naming the allowed domains is enough to close signup to every other domain.
SIGNUP_MODE = env.str("SIGNUP_MODE", default="") or ("domain" if SIGNUP_ALLOWED_DOMAINS else "open")
if SIGNUP_MODE not in {"open", "domain", "closed"}:
    raise ImproperlyConfigured("SIGNUP_MODE must be one of: open, domain, closed.")
if SIGNUP_MODE == "domain" and not SIGNUP_ALLOWED_DOMAINS:
    raise ImproperlyConfigured("SIGNUP_MODE=domain needs SIGNUP_ALLOWED_DOMAINS.")
DEFAULT_LEVEL = env.str("DEFAULT_LEVEL", default="read_only")
if DEFAULT_LEVEL not in {"investor", "write", "read_only"}:
    # Self-service signup must never hand out the owner or admin level.
    raise ImproperlyConfigured("DEFAULT_LEVEL must be one of: investor, write, read_only.")

# --- Email and the links it carries ---------------------------------------------------------

# django-environ's email URL: smtp+tls://user:password@host:587 (STARTTLS), smtp+ssl://...:465
# (implicit TLS), smtp://host:25 (no TLS: a trusted relay only) or consolemail:// (messages
# printed in the log: the default, so that `make run` shows every link). Messages go out
# through the queue workers, which retry while the mail server cannot be reached.
if not env.str("EMAIL_URL", default="consolemail://"):
    raise ImproperlyConfigured(
        "EMAIL_URL is empty: set it to your mail server (smtp+tls://user:password@host:587) or "
        "to consolemail:// to print emails in the log."
    )
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = 10  # seconds a worker waits for the mail server before trying again later
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="simple RBAS <rbas@localhost>")
if "@" not in DEFAULT_FROM_EMAIL:
    raise ImproperlyConfigured("DEFAULT_FROM_EMAIL must hold an address, e.g. rbas@example.com.")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address of the web app as users reach it: every link in an email starts with it. It is
# configured, never taken from a request, so a forged Host header cannot redirect a link.
# The default is where `make run` serves (on PORT, as run_web.sh reads it).
PUBLIC_URL = env.str(
    "PUBLIC_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
if not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", PUBLIC_URL):
    raise ImproperlyConfigured(
        "PUBLIC_URL must be an http:// or https:// address, e.g. https://rbas.example.com."
    )
# How long each kind of link works. A link also dies once used, and when what it acts on changed
# (a reset link once the password changed, an invitation once resent or revoked).
INVITATION_DAYS = env.int("INVITATION_DAYS", default=7)
EMAIL_VERIFICATION_DAYS = env.int("EMAIL_VERIFICATION_DAYS", default=3)
PASSWORD_RESET_MINUTES = env.int("PASSWORD_RESET_MINUTES", default=60)
if min(INVITATION_DAYS, EMAIL_VERIFICATION_DAYS, PASSWORD_RESET_MINUTES) < 1:
    raise ImproperlyConfigured(
        "INVITATION_DAYS, EMAIL_VERIFICATION_DAYS and PASSWORD_RESET_MINUTES must be at least 1."
    )

# --- Single sign-on (OpenID Connect) ---------------------------------------------------------

# Each provider is configured by OIDC_<NAME>_<SETTING>; `google` is a preset that needs only
# its client id and secret (and is offered by default once its client id is set).
OIDC_PROVIDER_SETTINGS = ("CLIENT_ID", "CLIENT_SECRET", "ISSUER", "TITLE", "SCOPES")
OIDC_PRESETS = {"google": {"ISSUER": "https://accounts.google.com", "TITLE": "Google"}}
OIDC_PROVIDER_NAMES = env.list("OIDC_PROVIDERS", default=[]) or (
    ["google"] if env.str("OIDC_GOOGLE_CLIENT_ID", default="") else []
)
OIDC_PROVIDERS = {}
for _name in OIDC_PROVIDER_NAMES:
    if not re.fullmatch(r"[a-z][a-z0-9]{0,30}", _name):
        raise ImproperlyConfigured(f"OIDC_PROVIDERS: {_name!r} is not a lowercase name.")
    _preset = OIDC_PRESETS.get(_name, {})
    _values = {
        key: env.str(f"OIDC_{_name.upper()}_{key}", default=_preset.get(key, ""))
        for key in OIDC_PROVIDER_SETTINGS
    }
    _missing = [key for key in ("CLIENT_ID", "CLIENT_SECRET", "ISSUER") if not _values[key]]
    if _missing:
        _names = ", ".join(f"OIDC_{_name.upper()}_{key}" for key in _missing)
        raise ImproperlyConfigured(f"OIDC provider {_name!r} needs {_names}.")
    OIDC_PROVIDERS[_name] = {
        "client_id": _values["CLIENT_ID"],
        "client_secret": _values["CLIENT_SECRET"],
        "issuer": _values["ISSUER"].rstrip("/"),
        "title": _values["TITLE"] or _name.capitalize(),
        "scopes": _values["SCOPES"] or "openid email profile",
    }
# Levels from the provider: the claim to read (e.g. groups) and claim value -> level key, in
# priority order. A claim the provider does not send leaves levels alone.
OIDC_LEVEL_CLAIM = env.str("OIDC_LEVEL_CLAIM", default="")
OIDC_LEVEL_MAP = env.dict("OIDC_LEVEL_MAP", default={})
if set(OIDC_LEVEL_MAP.values()) - {"owner", "investor", "admin", "write", "read_only"}:
    raise ImproperlyConfigured(
        "OIDC_LEVEL_MAP values must be level keys: owner, investor, admin, write, read_only."
    )
OIDC_TIMEOUT_SECONDS = env.float("OIDC_TIMEOUT_SECONDS", default=10)

# --- Tokens and cookies ---------------------------------------------------------------------

JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
if JWT_SIGNING_KEY and len(JWT_SIGNING_KEY.encode()) < 32:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must be at least 256 bits (32 bytes).")
if not JWT_SIGNING_KEY:
    # A key of its own, derived from SECRET_KEY, so the two never coincide.
    JWT_SIGNING_KEY = hmac.new(
        SECRET_KEY.encode(), b"simple-rbas jwt signing key", hashlib.sha256
    ).hexdigest()
JWT_ISSUER = env.str("JWT_ISSUER", default="simple-rbas")
ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15))
REFRESH_TOKEN_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=7))

COOKIE_SECURE = env.bool("COOKIE_SECURE", default=False)
COOKIE_SAMESITE = env.str("COOKIE_SAMESITE", default="Lax").capitalize()
if COOKIE_SAMESITE not in {"Lax", "Strict", "None"}:
    raise ImproperlyConfigured("COOKIE_SAMESITE must be Lax, Strict or None.")
if COOKIE_SAMESITE == "None" and not COOKIE_SECURE:
    raise ImproperlyConfigured(
        "COOKIE_SAMESITE=None needs COOKIE_SECURE=true: browsers drop such cookies otherwise."
    )
CSRF_COOKIE_SECURE = COOKIE_SECURE
CSRF_COOKIE_SAMESITE = COOKIE_SAMESITE
CSRF_COOKIE_HTTPONLY = False  # the front end reads it to send X-CSRFToken
# Django's session serves the admin and holds a single sign-on's state between the redirect to
# the provider and its return. That return is a cross-site navigation, which a Strict cookie
# would miss, so the session cookie stays Lax whatever COOKIE_SAMESITE says.
SESSION_COOKIE_SECURE = COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
# Database sessions that ignore a cookie holding a key Django never issues (a NUL, say).
SESSION_ENGINE = "simple_rbas.session_store"

# Personal API tokens (`/api/tokens/`): the expiry a new token gets when none is asked for, and
# the longest one may ask for.
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
if not 1 <= API_TOKEN_DEFAULT_DAYS <= API_TOKEN_MAX_DAYS:
    raise ImproperlyConfigured("API_TOKEN_DEFAULT_DAYS must be between 1 and API_TOKEN_MAX_DAYS.")

# --- Separate front ends (docs/front-ends.md) ------------------------------------------------

# The Domain of the token cookies: empty keeps them on this host only; a parent domain
# (rbas.example.com's `example.com`) shares them with front ends on sibling subdomains.
COOKIE_DOMAIN = env.str("COOKIE_DOMAIN", default="")
if COOKIE_DOMAIN:
    COOKIE_DOMAIN = origins.cookie_domain(COOKIE_DOMAIN, "COOKIE_DOMAIN")
CSRF_COOKIE_DOMAIN = env.str("CSRF_COOKIE_DOMAIN", default="") or COOKIE_DOMAIN or None
if CSRF_COOKIE_DOMAIN:
    CSRF_COOKIE_DOMAIN = origins.cookie_domain(CSRF_COOKIE_DOMAIN, "CSRF_COOKIE_DOMAIN")
for _setting, _domain in (
    ("COOKIE_DOMAIN", COOKIE_DOMAIN),
    ("CSRF_COOKIE_DOMAIN", CSRF_COOKIE_DOMAIN),
):
    # Browsers drop a cookie whose Domain does not cover the host that set it.
    if (
        _domain
        and "*" not in ALLOWED_HOSTS
        and not any(origins.host_in_domain(host, _domain) for host in ALLOWED_HOSTS)
    ):
        raise ImproperlyConfigured(
            f"{_setting}={_domain} covers none of ALLOWED_HOSTS: browsers would refuse the "
            "cookies. Use the parent domain of the service's own host."
        )
# Front ends allowed to call the API from the browser: each is added to CORS_ALLOWED_ORIGINS
# (they may read answers, with credentials) and CSRF_TRUSTED_ORIGINS (their cookie-authenticated
# writes pass the Origin check), and single sign-on may return to them (`next`).
FRONTEND_ORIGINS = [
    origins.origin(value, "FRONTEND_ORIGINS") for value in env.list("FRONTEND_ORIGINS", default=[])
]
CORS_ALLOWED_ORIGINS += [o for o in FRONTEND_ORIGINS if o not in CORS_ALLOWED_ORIGINS]
CSRF_TRUSTED_ORIGINS += [o for o in FRONTEND_ORIGINS if o not in CSRF_TRUSTED_ORIGINS]

# --- Scripts, runs and workers -------------------------------------------------------------

SCRIPTS_DIR = Path(env.str("SCRIPTS_DIR", default=str(BASE_DIR / "scripts")))
MAX_ACTIVE_RUNS_PER_USER = env.int("MAX_ACTIVE_RUNS_PER_USER", default=4)
RUN_WAIT_MAX_SECONDS = 30
# Long-polls (?wait=N) each web process holds at once, in threads of their own beside
# WEB_THREADS (gunicorn.conf.py reads the same variable); more are answered at once.
WEB_WAIT_SLOTS = env.int("WEB_WAIT_SLOTS", default=200)
RUN_OUTPUT_MAX_BYTES = env.int("RUN_OUTPUT_MAX_BYTES", default=1024 * 1024)
RUN_RESULT_MAX_BYTES = env.int("RUN_RESULT_MAX_BYTES", default=1024 * 1024)
RUN_ARTIFACTS_MAX_BYTES = env.int("RUN_ARTIFACTS_MAX_BYTES", default=50 * 1024 * 1024)
RUN_ARTIFACTS_MAX_FILES = env.int("RUN_ARTIFACTS_MAX_FILES", default=100)
# Stored artifacts are removed (the runs are kept) once older than RUN_ARTIFACTS_RETENTION_DAYS
# (0: never), and, oldest runs first, when all of them take more than
# RUN_ARTIFACTS_TOTAL_MAX_BYTES (0: no cap): by `prune_artifacts` and the workers' housekeeping.
RUN_ARTIFACTS_RETENTION_DAYS = env.int("RUN_ARTIFACTS_RETENTION_DAYS", default=30)
RUN_ARTIFACTS_TOTAL_MAX_BYTES = env.int("RUN_ARTIFACTS_TOTAL_MAX_BYTES", default=5 * 1024**3)
if RUN_ARTIFACTS_RETENTION_DAYS < 0 or RUN_ARTIFACTS_TOTAL_MAX_BYTES < 0:
    raise ImproperlyConfigured(
        "RUN_ARTIFACTS_RETENTION_DAYS and RUN_ARTIFACTS_TOTAL_MAX_BYTES cannot be negative."
    )
SCRIPT_MAX_TIMEOUT_SECONDS = env.int("SCRIPT_MAX_TIMEOUT_SECONDS", default=3600)
SCRIPT_MAX_MEMORY_MB = env.int("SCRIPT_MAX_MEMORY_MB", default=4096)
# A worker renews the lease of its run this often; a run whose lease is older than
# RUN_LEASE_SECONDS belongs to a dead worker and is ended as failed.
RUN_HEARTBEAT_SECONDS = env.float("RUN_HEARTBEAT_SECONDS", default=5)
RUN_LEASE_SECONDS = env.float("RUN_LEASE_SECONDS", default=30)
# TCP ports scripts may connect to ("*" for any), enforced with Landlock where the kernel has it.
SANDBOX_TCP_PORTS = env.str("SANDBOX_TCP_PORTS", default="80,443")
# Isolation of scripts: "required" refuses to run without Landlock or the seccomp socket filter,
# "auto" uses what the kernel and the machine offer.
SANDBOX_ISOLATION = env.str("SANDBOX_ISOLATION", default="auto")
# Most processes a run may have at once; the run is killed beyond (and RLIMIT_NPROC refuses its
# forks where the child does not run as root; see scripts_api/lifecycle.py for the caveats).
SANDBOX_MAX_PROCESSES = env.int("SANDBOX_MAX_PROCESSES", default=64)
# Most bytes a run may use in its working folder (artifacts and temporary files); killed beyond.
RUN_DISK_MAX_BYTES = env.int("RUN_DISK_MAX_BYTES", default=200 * 1024 * 1024)
if SANDBOX_MAX_PROCESSES < 1 or RUN_DISK_MAX_BYTES < 1:
    raise ImproperlyConfigured("SANDBOX_MAX_PROCESSES and RUN_DISK_MAX_BYTES must be positive.")
if SANDBOX_ISOLATION not in {"auto", "required"}:
    raise ImproperlyConfigured("SANDBOX_ISOLATION must be auto or required.")
# Scripts may open UNIX sockets (a database's local socket, docker.sock, ...) only with
# SANDBOX_UNIX_SOCKETS, and UDP sockets only with SANDBOX_UDP: a seccomp filter. UDP is on by
# default because DNS needs it: scripts call APIs by name (over SANDBOX_TCP_PORTS), and no
# filter here can tell a DNS query from other UDP. Turn it off for scripts that need no names.
SANDBOX_UNIX_SOCKETS = env.bool("SANDBOX_UNIX_SOCKETS", default=False)
SANDBOX_UDP = env.bool("SANDBOX_UDP", default=True)
# When the worker runs as root, scripts run as this uid and gid (nobody) instead.
SANDBOX_UID = env.int("SANDBOX_UID", default=65534)
SANDBOX_GID = env.int("SANDBOX_GID", default=65534)
if SANDBOX_UID <= 0 or SANDBOX_GID <= 0:
    raise ImproperlyConfigured("SANDBOX_UID and SANDBOX_GID must be above 0 (root).")

# Scripts' PEP 723 dependencies (docs/dependencies.md): each worker host builds environments
# with uv into SCRIPT_ENVIRONMENTS_DIR (uv's own cache in SCRIPT_UV_CACHE_DIR), removes those
# unused for SCRIPT_ENVIRONMENTS_RETENTION_DAYS, gives a resolution plus install at most
# SCRIPT_ENVIRONMENT_BUILD_SECONDS each (outside the script's time limit), and after a failed
# resolution lets runs try again only SCRIPT_ENVIRONMENT_RETRY_SECONDS later (a sync at once).
# The default lies under the system temp folder: writable in the image (/tmp is its one
# writable folder); mount a volume there to keep environments across pod restarts.
SCRIPT_ENVIRONMENTS_DIR = Path(
    env.str("SCRIPT_ENVIRONMENTS_DIR", default="")
    or Path(tempfile.gettempdir()) / "rbas-environments"
)
SCRIPT_UV_CACHE_DIR = Path(
    env.str("SCRIPT_UV_CACHE_DIR", default="") or SCRIPT_ENVIRONMENTS_DIR / ".uv-cache"
)
SCRIPT_ENVIRONMENTS_RETENTION_DAYS = env.float("SCRIPT_ENVIRONMENTS_RETENTION_DAYS", default=14)
SCRIPT_ENVIRONMENT_BUILD_SECONDS = env.int("SCRIPT_ENVIRONMENT_BUILD_SECONDS", default=600)
SCRIPT_ENVIRONMENT_RETRY_SECONDS = env.int("SCRIPT_ENVIRONMENT_RETRY_SECONDS", default=60)
if min(SCRIPT_ENVIRONMENTS_RETENTION_DAYS, SCRIPT_ENVIRONMENT_BUILD_SECONDS) <= 0:
    raise ImproperlyConfigured(
        "SCRIPT_ENVIRONMENTS_RETENTION_DAYS and SCRIPT_ENVIRONMENT_BUILD_SECONDS must be positive."
    )
# Whether scripts without dependencies may import the server's own packages (Django, ...).
SCRIPT_SERVER_PACKAGES = env.bool("SCRIPT_SERVER_PACKAGES", default=False)

# Audit events older than AUDIT_RETENTION_DAYS are removed by `prune_audit` (0 keeps them all).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# How often a queue worker runs the periodic cleanup (`manage.py cleanup`): one worker across
# all pods per interval, decided by the database.
CLEANUP_INTERVAL_SECONDS = env.int("CLEANUP_INTERVAL_SECONDS", default=3600)
if AUDIT_RETENTION_DAYS < 0 or CLEANUP_INTERVAL_SECONDS <= 0:
    raise ImproperlyConfigured(
        "AUDIT_RETENTION_DAYS cannot be negative and CLEANUP_INTERVAL_SECONDS must be positive."
    )

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- Notifications when runs end (notifications) ---------------------------------------------

# Attempts after the first one, each after twice the delay of the one before.
NOTIFICATION_RETRIES = env.int("NOTIFICATION_RETRIES", default=5)
NOTIFICATION_BACKOFF_SECONDS = env.float("NOTIFICATION_BACKOFF_SECONDS", default=30)
NOTIFICATION_TIMEOUT_SECONDS = env.float("NOTIFICATION_TIMEOUT_SECONDS", default=10)
NOTIFICATION_WEBHOOK_ALLOW_HTTP = env.bool("NOTIFICATION_WEBHOOK_ALLOW_HTTP", default=False)
NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = env.bool("NOTIFICATION_WEBHOOK_ALLOW_PRIVATE", default=False)
# Ended deliveries older than this are removed by `prune_notifications` (part of `cleanup`).
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=90)
if (
    NOTIFICATION_RETRIES < 0
    or NOTIFICATION_BACKOFF_SECONDS < 0
    or NOTIFICATION_RETENTION_DAYS < 0
    or NOTIFICATION_TIMEOUT_SECONDS <= 0
):
    raise ImproperlyConfigured(
        "NOTIFICATION_RETRIES, NOTIFICATION_BACKOFF_SECONDS and NOTIFICATION_RETENTION_DAYS may "
        "not be negative, and "
        "NOTIFICATION_TIMEOUT_SECONDS must be positive."
    )

# --- Schedules (docs/schedules.md) -----------------------------------------------------------

# How often each queue worker looks for due schedules (seconds); a tick fires at most this late.
SCHEDULES_POLL_SECONDS = env.float("SCHEDULES_POLL_SECONDS", default=5.0)
# The time zone of a schedule that names none (API or SCHEDULE_TIMEZONE in a script file).
SCHEDULES_DEFAULT_TIMEZONE = env.str("SCHEDULES_DEFAULT_TIMEZONE", default="UTC")
# Ticks recorded before this many days are removed by `prune_schedule_ticks` (part of `cleanup`).
SCHEDULE_TICK_RETENTION_DAYS = env.int("SCHEDULE_TICK_RETENTION_DAYS", default=90)
if SCHEDULES_POLL_SECONDS <= 0 or SCHEDULE_TICK_RETENTION_DAYS < 0:
    raise ImproperlyConfigured(
        "SCHEDULES_POLL_SECONDS must be positive and SCHEDULE_TICK_RETENTION_DAYS not negative."
    )

# --- Secrets for scripts (vault) -------------------------------------------------------------

# Fernet keys, comma-separated: the first encrypts, every one decrypts. To rotate, put a new key
# first, run `manage.py rotate_secrets`, then drop the old one. Empty: a key derived from
# SECRET_KEY (fine locally; `check --deploy` warns).
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])
for _key in SECRETS_ENCRYPTION_KEYS:
    try:
        _fernet_key = base64.urlsafe_b64decode(_key.strip().encode())
    except ValueError:
        _fernet_key = b""
    if len(_fernet_key) != 32:
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe "
            "base64-encoded bytes); make one with `python manage.py rotate_secrets --new-key`."
        )

# --- OAuth2 / OpenID Connect provider (django-oauth-toolkit) ----------------------------------

# The RSA key (PEM) that signs ID tokens; other apps check them against /o/.well-known/jwks.json.
# Empty: a key generated once into OIDC_RSA_PRIVATE_KEY_FILE (fine on one machine; `check
# --deploy` warns, as replicas would each make their own and tokens would not survive a new pod).
OIDC_RSA_PRIVATE_KEY = env.str("OIDC_RSA_PRIVATE_KEY", default="").replace("\\n", "\n")
OIDC_RSA_PRIVATE_KEY_FILE = Path(
    env.str("OIDC_RSA_PRIVATE_KEY_FILE", default="")
    or (
        Path(DATABASES["default"]["NAME"]).with_name("oidc-rsa-key.pem")
        if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
        else Path(tempfile.gettempdir()) / "rbas-oidc-rsa-key.pem"
    )
)
if OIDC_RSA_PRIVATE_KEY and "PRIVATE KEY-----" not in OIDC_RSA_PRIVATE_KEY:
    raise ImproperlyConfigured("OIDC_RSA_PRIVATE_KEY must be a PEM private key (-----BEGIN ...).")
OAUTH_ACCESS_TOKEN_SECONDS = env.int("OAUTH_ACCESS_TOKEN_SECONDS", default=3600)
OAUTH_REFRESH_TOKEN_DAYS = env.int("OAUTH_REFRESH_TOKEN_DAYS", default=30)
if OAUTH_ACCESS_TOKEN_SECONDS < 1 or OAUTH_REFRESH_TOKEN_DAYS < 1:
    raise ImproperlyConfigured(
        "OAUTH_ACCESS_TOKEN_SECONDS and OAUTH_REFRESH_TOKEN_DAYS must be positive."
    )
# DOT's own model, named so that migrations pointing at it (provider's) can resolve it.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (
        OIDC_RSA_PRIVATE_KEY or lazy_generated_rsa_key(OIDC_RSA_PRIVATE_KEY_FILE)
    ),
    # The issuer is configured, never taken from a request's Host header.
    "OIDC_ISS_ENDPOINT": f"{PUBLIC_URL}/o",
    "OAUTH2_VALIDATOR_CLASS": "provider.validator.RBASOAuth2Validator",
    "SCOPES": {
        "openid": "Sign you in with your RBAS account",
        "profile": "See your name and username",
        "email": "See your email address",
        "rbas": "See your RBAS level and act on the RBAS API as you",
    },
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "ACCESS_TOKEN_GENERATOR": "provider.generators.access_token",
    "REFRESH_TOKEN_GENERATOR": "provider.generators.refresh_token",
    "ACCESS_TOKEN_EXPIRE_SECONDS": OAUTH_ACCESS_TOKEN_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": OAUTH_ACCESS_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": OAUTH_REFRESH_TOKEN_DAYS * 86400,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # Each refresh returns a new refresh token; presenting a used one again is refused and
    # ends the whole chain (a stolen token is worth nothing once its owner refreshed).
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    # Behind HTTPS (COOKIE_SECURE), applications must use https redirect URIs too (RFC 9700
    # 2.1); plain http, for apps on a laptop, only in local setups.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if COOKIE_SECURE else ["http", "https"],
    # RFC 9700: S256 only, tokens in the Authorization header only, stored hashed, no implicit
    # or password grant, `iss` in the authorization response.
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REQUEST_APPROVAL_PROMPT": "force",
}

# --- Django REST framework ------------------------------------------------------------------

REST_FRAMEWORK = {
    # Each class claims its own kind of credential and leaves the others to the next one.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.personal_tokens.PersonalTokenAuthentication",
        # Claims only `Bearer rbas_oat_...` (the provider's access tokens).
        "provider.authentication.OAuthTokenAuthentication",
        "users.authentication.JWTCookieAuthentication",
    ],
    # Deny by default: a view that declares no `required_policy` is refused.
    "DEFAULT_PERMISSION_CLASSES": ["users.permissions.HasPolicy"],
    # JSON only: other content types get 415, which also keeps cross-site HTML forms out. The
    # parser also refuses (400) deep nesting, repeated keys and text the database cannot store.
    "DEFAULT_PARSER_CLASSES": ["simple_rbas.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "simple_rbas.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "PAGE_SIZE": 20,
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        "login_username": env.str("LOGIN_THROTTLE_PER_USERNAME", default="5/min"),
        "login_address": env.str("LOGIN_THROTTLE_PER_ADDRESS", default="20/min"),
        "signup_address": env.str("SIGNUP_THROTTLE_PER_ADDRESS", default="10/hour"),
        "password_reset_address": env.str("PASSWORD_RESET_THROTTLE_PER_ADDRESS", default="20/hour"),
        "password_reset_email": env.str("PASSWORD_RESET_THROTTLE_PER_EMAIL", default="3/hour"),
        # The endpoints that take a link's token, per address; asking for a new verification
        # link, per user.
        "email_links": env.str("EMAIL_LINK_THROTTLE", default="30/hour"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "simple RBAS API",
    "DESCRIPTION": (
        "Role-based script service: sign in (HTTP-only cookies or a Bearer token), list the "
        "scripts your role may run, run them, and read their results. Cookie-authenticated "
        "unsafe requests need the X-CSRFToken header. While the database is unreachable every "
        "operation that needs it answers 503 with Retry-After."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "scripts_api.models.RunStatus"},
    # Same-origin requests carry the cookies, and Swagger UI adds the X-CSRFToken header to them.
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# --- Static files, security headers, logging ------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind HTTPS (COOKIE_SECURE=true): redirect plain HTTP and send HSTS. The cluster's proxy
# terminates TLS and says so in X-Forwarded-Proto; probes call the pod over plain HTTP.
# Trust X-Forwarded-Proto only behind a proxy that sets it (and drops what clients send).
if env.bool("TRUST_X_FORWARDED_PROTO", default=COOKIE_SECURE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=COOKIE_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if COOKIE_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=COOKIE_SECURE)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = json_logging(
    LOG_LEVEL,
    # The request log line (simple_rbas.request) says it all; no second line per 4xx.
    loggers={"django.request": {"level": "ERROR"}, "django.server": {"level": "ERROR"}},
)
