#!/usr/bin/env bash
# Tessera HA quickstart: builds, then runs two server replicas (server_id r1 and r2) on one
# PostgreSQL database and an agent attested with a fresh join token that knows both
# replicas, registers spiffe://example.org/user/<you> for your uid, and prints how to fetch
# the SVID. Ctrl-C stops everything; running it again reuses the data.
#
# PostgreSQL: $TESSERA_DATABASE_URL when set; else the server on 127.0.0.1:5432 when one
# answers (database tessera_quickstart, created when missing, made afresh with a fresh
# .tessera/quickstart-ha); else a private cluster from Debian's postgresql binaries in
# .tessera/quickstart-ha/pg (tests/support/pg-cluster).
set -euo pipefail
# shellcheck source=server/quickstart-common.sh
. "$(dirname "$0")/quickstart-common.sh"
cd "$(dirname "$0")/.."
root=$PWD
data=${TESSERA_QUICKSTART_DIR:-$root/.tessera/quickstart-ha}
mkdir -p "$data"
# Search-only for others: a private cluster runs as `postgres` when we are root and must
# reach pg/ (the replicas' and the agent's directories inside stay 0700).
chmod 711 "$data"
if [ -z "${TESSERA_QUICKSTART_DIR:-}" ] && [ "$(id -u)" = 0 ]; then
    chmod o+x "$root/.tessera"
fi
umask 077

# TESSERA_BIN_DIR: use binaries built elsewhere (the integration test) instead of building.
if [ -n "${TESSERA_BIN_DIR:-}" ]; then
    bin=$TESSERA_BIN_DIR
else
    cargo build --bins --quiet
    bin=${CARGO_TARGET_DIR:-$root/target}/debug
fi
socket=$data/agent/public/api.sock
port1=${TESSERA_QUICKSTART_PORT:-8081}
port2=${TESSERA_QUICKSTART_PORT2:-$((port1 + 1))}
local_pg=${TESSERA_QUICKSTART_LOCAL_PG:-127.0.0.1:5432}
pg_cluster=$root/tests/support/pg-cluster

pg_dir=
pids=()
stop() {
    trap - INT TERM EXIT
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$pg_dir" ]; then
        "$pg_cluster" stop "$pg_dir" fast >/dev/null 2>&1 || true
    fi
    echo "stopped (data kept in $data)"
}
trap stop INT TERM EXIT

psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)
pg_ready() { # host port
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h "$1" -p "$2"
    else
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
    fi
}
# Creates tessera_quickstart when missing. The replicas' seal keys live in $data: a fresh
# $data (no r1/ yet) gets a fresh database, since what an older one holds was sealed with
# keys that are gone.
ensure_database() { # URI of the server's `postgres` database
    [ -n "$psql_bin" ] || { echo "psql is missing (apt-get install postgresql-client)" >&2; exit 1; }
    if [ ! -d "$data/r1" ]; then
        PGOPTIONS="-c client_min_messages=warning" \
            "$psql_bin" "$1" -qc "DROP DATABASE IF EXISTS tessera_quickstart WITH (FORCE)"
    fi
    if ! "$psql_bin" "$1" -tAc "SELECT 1 FROM pg_database WHERE datname = 'tessera_quickstart'" | grep -q 1; then
        "$psql_bin" "$1" -qc "CREATE DATABASE tessera_quickstart"
    fi
}

if [ -n "${TESSERA_DATABASE_URL:-}" ]; then
    db_url=$TESSERA_DATABASE_URL
    db_where="\$TESSERA_DATABASE_URL"
elif pg_ready "${local_pg%:*}" "${local_pg##*:}"; then
    ensure_database "postgres://${PGUSER:-postgres}@$local_pg/postgres"
    db_url="postgres://${PGUSER:-postgres}@$local_pg/tessera_quickstart"
    db_where="$local_pg, database tessera_quickstart"
else
    pg_dir=$data/pg
    [ -f "$pg_dir/data/PG_VERSION" ] || "$pg_cluster" init "$pg_dir"
    pg_port=$("$pg_cluster" free-port)
    "$pg_cluster" start "$pg_dir" "$pg_port"
    ensure_database "postgres://postgres@127.0.0.1:$pg_port/postgres"
    db_url="postgres://postgres@127.0.0.1:$pg_port/tessera_quickstart"
    db_where="a private cluster in $pg_dir on 127.0.0.1:$pg_port"
fi

start_replica() { # server_id port
    cat >"$data/$1.toml" <<TOML
trust_domain = "example.org"
server_id = "$1"
data_dir = "$data/$1"
bind_address = "127.0.0.1:$2"

[datastore]
kind = "postgres"
connection_string = "$db_url"
TOML
    "$bin/tessera-server" run --config "$data/$1.toml" 2>>"$data/$1.log" &
    pids+=($!)
    local pid=$!
    for _ in $(seq 1 300); do
        "$bin/tessera-server" healthcheck --socket "$data/$1/admin.sock" >/dev/null 2>&1 && return
        kill -0 "$pid" 2>/dev/null || { echo "replica $1 did not start; see $data/$1.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "replica $1 did not become healthy; see $data/$1.log" >&2
    exit 1
}
start_replica r1 "$port1"
start_replica r2 "$port2"
admin=$data/r1/admin.sock

# An agent can fail over only to a replica whose CA it trusts. r2 read r1's CA at start; r1
# adopts r2's at its next rotation check (≤ 10 s): wait until both serve the same bundle, so
# the agent starts with both CAs.
bundle_of() { "$bin/tessera-server" bundle show --socket "$data/$1/admin.sock"; }
for i in $(seq 1 300); do
    b1=$(bundle_of r1)
    [ "$b1" = "$(bundle_of r2)" ] && [ "$(grep -c 'BEGIN CERTIFICATE' <<<"$b1")" -ge 2 ] && break
    if [ "$i" = 300 ]; then
        echo "the replicas' bundles did not converge within 30 s; see $data/r1.log" >&2
        exit 1
    fi
    sleep 0.1
done

"$bin/tessera-server" bundle show --socket "$admin" >"$data/bundle.pem"
token=$("$bin/tessera-server" token generate --socket "$admin" --output json | sed 's/.*"token":"\([^"]*\)".*/\1/')
cat >"$data/agent.toml" <<TOML
trust_domain = "example.org"
server_address = ["127.0.0.1:$port1", "127.0.0.1:$port2"]
data_dir = "$data/agent"
socket_path = "$socket"
trust_bundle_path = "$data/bundle.pem"
join_token = "$token"
sync_interval = "1s"
TOML

NO_COLOR=1 "$bin/tessera-agent" run --config "$data/agent.toml" 2>>"$data/agent.log" &
pids+=($!)
agent_pid=$!
# Waits for the agent, then registers the user (quickstart-common.sh).
register_user

cat <<TXT

Tessera HA is running (trust domain example.org).
  PostgreSQL          : $db_where
  replica r1          : agent API 127.0.0.1:$port1, admin socket $data/r1/admin.sock
  replica r2          : agent API 127.0.0.1:$port2, admin socket $data/r2/admin.sock
  agent (node)        : $agent_id (fails over between r1 and r2)
  Workload API socket : $socket
  your identity       : $id (selector unix:uid:$uid)

Fetch your X.509-SVID (within a second or two of the first start):
  SPIFFE_ENDPOINT_SOCKET=unix://$socket $bin/tessera-agent api fetch x509 --write /tmp/svid

Logs: $data/r1.log, $data/r2.log, $data/agent.log. Ctrl-C stops everything.
TXT
wait
