#!/usr/bin/env bash
# The one entry point of the web service: prepare the database and serve with gunicorn.
# Honours HOST (default 0.0.0.0), PORT (default 8000) and WEB_CONCURRENCY (default 2).
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

"$PYTHON" manage.py migrate --noinput
"$PYTHON" manage.py createcachetable
"$PYTHON" manage.py ensure_owner
"$PYTHON" manage.py sync_scripts
"$PYTHON" manage.py purge_login_sessions
# Queue bookkeeping only: the runs themselves (and their history) are kept in scripts_api_run.
"$PYTHON" manage.py prune_db_task_results --min-age-days 7

# Images collect static files at build time into a directory the server cannot write;
# a checkout collects them here (collectstatic only copies what changed).
if [ ! -e staticfiles ] || [ -w staticfiles ]; then
    "$PYTHON" manage.py collectstatic --noinput --verbosity 0
fi

gunicorn=(
    "$PYTHON" -m gunicorn simple_rbas.wsgi
    --bind "${HOST:-0.0.0.0}:${PORT:-8000}"
    --workers "${WEB_CONCURRENCY:-2}"
    # Threads, so that long-polling clients (?wait=N) do not hold every worker.
    --worker-class gthread --threads "${WEB_THREADS:-4}"
    --access-logfile -
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
)

workers="${EMBEDDED_WORKERS:-2}"
if [ "$workers" -eq 0 ]; then
    exec "${gunicorn[@]}"
fi

# Embedded workers: gunicorn and the queue workers live and die together. When any of them
# exits, or a TERM/INT arrives, all are stopped and the script exits.
pids=()
for _ in $(seq "$workers"); do
    "$PYTHON" manage.py db_worker --no-reload &
    pids+=("$!")
done
"${gunicorn[@]}" &
pids+=("$!")
echo "run_web.sh: gunicorn and $workers embedded workers started"

stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap stop TERM INT
status=0
wait -n "${pids[@]}" || status=$?
stop
wait "${pids[@]}" || true
exit "$status"
