#!/usr/bin/env bash
# Container smoke test: build the project's image from the real Dockerfile and run it as the
# stack does (okteto-stack.yml): a `web` container with the image's own CMD and a `worker`
# container running `python manage.py db_worker`, both against a fresh PostgreSQL database.
# It signs in as the owner, runs an example script to `succeeded` through the worker, and checks
# the image's contents, its non-root processes, its HEALTHCHECK and a graceful stop.
#
#   deploy/container-smoke.sh                       # podman, stand-in base built by debootstrap
#   ENGINE=docker BASE_IMAGE=python:3.11-slim-bookworm deploy/container-smoke.sh
#
# Settings (environment):
#   ENGINE          podman (default) or docker
#   BASE_IMAGE      base for the Dockerfile's PYTHON_IMAGE; empty (default) builds a Debian
#                   bookworm stand-in with debootstrap (for machines that reach no registry)
#   PG_URL          PostgreSQL server to create the throwaway database on
#                   (default postgres://postgres@127.0.0.1:5432, reached from the containers
#                   through the host network)
#   STOP_TIMEOUT    seconds `stop` may take (default 30, the stack's GRACEFUL_TIMEOUT)
# Needs: the engine, psql, curl, python3 with PyYAML (the project's .venv has it), and for the
# stand-in base debootstrap (run as root).
set -o errexit -o nounset -o pipefail
cd "$(dirname "$0")/.."

ENGINE=${ENGINE:-podman}
BASE_IMAGE=${BASE_IMAGE:-}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
STANDIN=localhost/rbas-standin-base:bookworm
IMAGE=localhost/simple-rbas:smoke
RUN_ID=$$
WEB=rbas-smoke-web-$RUN_ID
WORKER=rbas-smoke-worker-$RUN_ID
DB=rbas_smoke_$RUN_ID
WORK=$(mktemp -d)
started=$(date +%s)

say() { printf '\n== %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

engine=("$ENGINE")
if [ "$ENGINE" = podman ]; then
    # This kind of machine: runc (crun cannot run here), no default ulimits (they cannot be set).
    printf '[containers]\ndefault_ulimits = []\n' > "$WORK/containers.conf"
    export CONTAINERS_CONF="$WORK/containers.conf"
    engine=(podman --runtime runc)
fi

decoys=()
cleanup() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        for name in "$WEB" "$WORKER"; do
            echo "--- logs of $name (last 40 lines)" >&2
            "${engine[@]}" logs --tail 40 "$name" >&2 2>&1 || true
        done
    fi
    "${engine[@]}" rm --force "$WEB" "$WORKER" >/dev/null 2>&1 || true
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -f "${decoys[@]}"
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM INT  # so that an interrupted run cleans up too

debian_mirror() {
    # The Debian mirror this machine's apt already uses (deb822 .sources or one-line .list).
    python3 - <<'EOF'
import glob, re
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in open(path).read().split("\n\n"):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if "deb" in fields.get("Types", "").split() and "bookworm" in fields.get("Suites", "").split():
            print(fields["URIs"].split()[0]); raise SystemExit
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        match = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
        if match:
            print(match.group(1)); raise SystemExit
raise SystemExit("no Debian bookworm mirror in the apt sources")
EOF
}

if [ -z "$BASE_IMAGE" ]; then
    BASE_IMAGE=$STANDIN
    if "${engine[@]}" image exists "$STANDIN" 2>/dev/null; then
        say "stand-in base $STANDIN is cached"
    else
        mirror=$(debian_mirror)
        say "building the stand-in base with debootstrap from $mirror"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
            || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
        ln -s python3 "$WORK/rootfs/usr/bin/python"
        rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
        # What python:3.11-slim sets too: a PATH and a UTF-8 locale.
        tar -C "$WORK/rootfs" -c . | "${engine[@]}" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' - "$STANDIN" >/dev/null
        rm -rf "$WORK/rootfs"
    fi
fi

# Files that must never reach the image: create stand-ins where the checkout has none.
for decoy in .env db.sqlite3; do
    if [ ! -e "$decoy" ]; then
        echo "decoy: must not be copied into the image" > "$decoy"
        decoys+=("$PWD/$decoy")
    fi
done

say "building $IMAGE from the Dockerfile (base $BASE_IMAGE)"
build=("${engine[@]}" build --build-arg "PYTHON_IMAGE=$BASE_IMAGE" --tag "$IMAGE")
if [ "$ENGINE" = podman ]; then
    # Docker's image format keeps HEALTHCHECK; the machine's CA bundle lets pip reach PyPI.
    build+=(--format docker --network host --volume /etc/ssl/certs:/etc/ssl/certs:ro)
fi
previous=$("${engine[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
"${build[@]}" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "image build"; }
# The last run's image is now untagged: drop it, so repeated runs do not fill the disk (the
# build's layer cache stays).
if [ -n "$previous" ] && [ "$previous" != "$("${engine[@]}" image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    "${engine[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
rm -f "${decoys[@]}"
decoys=()

say "the image holds no secrets, history, databases or virtualenvs from the checkout"
# HEALTHCHECK is run by hand below: engines without systemd cannot schedule it.
once=("${engine[@]}" run --rm --no-healthcheck --network host --entrypoint /bin/sh "$IMAGE" -c)
found=$("${once[@]}" \
    "find /app \( -name .env -o -name .git -o -name .venv -o -name node_modules \
     -o -name '*.sqlite3' -o -name '*.sqlite3-*' \) -print")
[ -z "$found" ] || fail "the image contains: $found"
"${once[@]}" "test -x /app/run_web.sh && test -f /app/staticfiles/web/app.css" \
    || fail "the image lacks run_web.sh or the collected static files"

say "a fresh database $DB"
psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="smoke-$RANDOM-$RANDOM-owner"
# The provider's signing key as a secret store holds it: one line, `\n` for the line breaks.
oidc_key=$("$PYTHON" -c '
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()
print(pem.strip().replace("\n", "\\n"))')
# The stack's own environment (okteto-stack.yml), with this machine's database and port.
SECRET_KEY="smoke-$(python3 -c 'import secrets; print(secrets.token_urlsafe(40))')" \
SECRETS_ENCRYPTION_KEYS="$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
OIDC_RSA_PRIVATE_KEY="$oidc_key" \
ALLOWED_HOSTS=127.0.0.1 CSRF_TRUSTED_ORIGINS=https://127.0.0.1 \
DJANGO_SUPERUSER_USERNAME=owner DJANGO_SUPERUSER_EMAIL=owner@example.com \
DJANGO_SUPERUSER_PASSWORD=$password POSTGRES_PASSWORD=unused \
EMAIL_URL=consolemail:// PUBLIC_URL=https://127.0.0.1 DEFAULT_FROM_EMAIL=rbas@example.com \
"$PYTHON" - "$WORK/app.env" "$PG_URL/$DB" "$port" <<'EOF'
import os, re, sys
import yaml

out, database_url, port = sys.argv[1:]
stack = yaml.safe_load(open("okteto-stack.yml"))
web, worker = stack["services"]["web"], stack["services"]["worker"]
assert web["environment"] == worker["environment"], "web and worker differ in okteto-stack.yml"
expand = lambda value: re.sub(r"\$\{(\w+)\}", lambda m: os.environ[m.group(1)], str(value))
env = {key: expand(value) for key, value in web["environment"].items()}
env |= {"DATABASE_URL": database_url, "PORT": port}
with open(out, "w") as file:
    file.writelines(f"{key}={value}\n" for key, value in env.items())
EOF
grep -q '^EMBEDDED_WORKERS=0$' "$WORK/app.env" || fail "the stack's web must not embed workers"

run=("${engine[@]}" run --detach --no-healthcheck --network host --env-file "$WORK/app.env")
say "starting $WEB (the image's CMD) and $WORKER (python manage.py db_worker)"
"${run[@]}" --name "$WEB" "$IMAGE" >/dev/null
"${run[@]}" --name "$WORKER" "$IMAGE" python manage.py db_worker >/dev/null

base="http://127.0.0.1:$port"
# COOKIE_SECURE=true as in the stack: requests arrive as the cluster's TLS proxy sends them.
https=(-H "X-Forwarded-Proto: https")
say "waiting for $base/readyz"
for _ in $(seq 120); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
    [ "$("${engine[@]}" inspect --format '{{.State.Running}}' "$WEB")" = true ] \
        || fail "the web container exited"
    sleep 1
done
curl -fsS "$base/readyz" || fail "/readyz never answered 200"
echo

say "signing in as the owner from DJANGO_SUPERUSER_*"
login=$(curl -fsS "${https[@]}" -H 'Content-Type: application/json' \
    -d "{\"username\": \"owner\", \"password\": \"$password\"}" "$base/api/auth/login/")
token=$("$PYTHON" -c 'import json, sys; body = json.load(sys.stdin); assert body["user"]["level"] == 0; print(body["access_token"])' <<<"$login")

say "running the example script hello through the worker container"
run_body=$(curl -sS "${https[@]}" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"params": {"name": "container"}}' \
    "$base/api/scripts/hello/runs/?wait=30")
status=$("$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["status"])' <<<"$run_body")
[ "$status" = succeeded ] || fail "the run ended $status: $run_body"
echo "$run_body" | "$PYTHON" -c 'import json, sys; r = json.load(sys.stdin); print("result:", r["result"], "in", r["duration_ms"], "ms")'

say "the OpenID Connect provider publishes the stack's OIDC_RSA_PRIVATE_KEY"
jwks=$(curl -fsS "${https[@]}" "$base/o/.well-known/jwks.json")
"$PYTHON" - "$jwks" "$oidc_key" <<'EOF'
import base64, json, sys
from cryptography.hazmat.primitives import serialization

jwks, pem = sys.argv[1], sys.argv[2].replace("\\n", "\n")
modulus = serialization.load_pem_private_key(pem.encode(), None).public_key().public_numbers().n
number = lambda n: int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big")
published = [number(key["n"]) for key in json.loads(jwks)["keys"]]
assert published == [modulus], "the JWKS does not publish the configured key"
print("ok: the JWKS publishes the configured key")
EOF

say "every process in both containers runs as a non-root user"
for name in "$WEB" "$WORKER"; do
    # The owner of every process the container runs (the checking shell included).
    # shellcheck disable=SC2016 # expanded inside the container
    mapfile -t uids < <("${engine[@]}" exec "$name" sh -c 'stat -c %u /proc/[0-9]*')
    echo "$name: ${#uids[@]} processes, users $(printf '%s\n' "${uids[@]}" | sort -u | paste -sd,)"
    if [ "${#uids[@]}" -lt 3 ] || printf '%s\n' "${uids[@]}" | grep -qx 0; then
        fail "$name: expected its processes, none of them root"
    fi
done

say "the image's HEALTHCHECK succeeds inside the running web container"
healthcheck=$("${engine[@]}" image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE")
mapfile -t check < <("$PYTHON" -c 'import json, sys; t = json.loads(sys.argv[1]); assert t[0] == "CMD", t; print("\n".join(t[1:]))' "$healthcheck")
"${engine[@]}" exec "$WEB" "${check[@]}" || fail "HEALTHCHECK failed: ${check[*]}"
echo "ok: ${check[*]}"

say "stop ends both containers within the graceful timeout (${STOP_TIMEOUT}s)"
for name in "$WEB" "$WORKER"; do
    before=$(date +%s.%N)
    "${engine[@]}" stop --time "$STOP_TIMEOUT" "$name" >/dev/null
    took=$(python3 -c "print(round($(date +%s.%N) - $before, 1))")
    code=$("${engine[@]}" inspect --format '{{.State.ExitCode}}' "$name")
    echo "$name: stopped in ${took}s, exit code $code"
    [ "$code" != 137 ] || fail "$name had to be killed"
    python3 -c "raise SystemExit($took >= $STOP_TIMEOUT)" || fail "$name took too long to stop"
done

size=$("${engine[@]}" image inspect --format '{{.Size}}' "$IMAGE")
say "passed in $(( $(date +%s) - started ))s; image $IMAGE is $(( size / 1000000 )) MB"
