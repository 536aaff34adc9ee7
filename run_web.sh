#!/usr/bin/env bash
# The one entry point of the web service: prepare the database and serve with gunicorn.
# Honours HOST (default 0.0.0.0), PORT (default 8000), WEB_CONCURRENCY (default 2) and
# EMBEDDED_WORKERS (default 2) through gunicorn.conf.py.
set -o errexit -o nounset -o pipefail

cd "$(dirname "$0")"
PYTHON="${PYTHON:-python}"

# A local run with no configuration gets a random SECRET_KEY, written to .env once so that
# sign-ins survive restarts. Never inside a cluster or a read-only image: there a missing secret
# must stop start-up.
if [ -z "${SECRET_KEY:-}" ] && [ ! -f .env ] && [ -z "${KUBERNETES_SERVICE_HOST:-}" ] \
    && [ -w . ]; then
    umask 077
    echo "SECRET_KEY=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
    echo "run_web.sh: wrote a new random SECRET_KEY to .env"
fi

if ! "$PYTHON" manage.py migrate --noinput; then
    echo "run_web.sh: the database migrations failed, so the service is not started." \
        "Check DATABASE_URL and that the database is up." >&2
    exit 1
fi
"$PYTHON" manage.py createcachetable
"$PYTHON" manage.py ensure_owner
# Status 3: a file was rejected. The service starts anyway: a script whose edit broke keeps its
# last good version, and the problem shows on its page. Any other failure stops start-up.
sync_status=0
"$PYTHON" manage.py sync_scripts || sync_status=$?
if [ "$sync_status" -ne 0 ] && [ "$sync_status" -ne 3 ]; then
    echo "run_web.sh: sync_scripts failed (status $sync_status), so the service is not started." >&2
    exit "$sync_status"
fi
# Expired sessions and OAuth tokens, old queue rows, artifacts and audit events past their
# retention, this host's unused script environments; the queue workers repeat the shared jobs
# every CLEANUP_INTERVAL_SECONDS, so a long-lived pod stays clean.
"$PYTHON" manage.py cleanup

# Images collect static files at build time into a directory the server cannot write;
# a checkout collects them here (collectstatic only copies what changed).
if [ ! -e staticfiles ] || [ -w staticfiles ]; then
    "$PYTHON" manage.py collectstatic --noinput --verbosity 0
fi

# gunicorn.conf.py reads HOST, PORT, WEB_CONCURRENCY, WEB_THREADS, GRACEFUL_TIMEOUT,
# FORWARDED_ALLOW_IPS and EMBEDDED_WORKERS; gunicorn starts and stops the embedded queue
# workers itself, so it can replace this shell and receive the container's signals directly.
exec "$PYTHON" -m gunicorn simple_rbas.wsgi --config gunicorn.conf.py
