#!/usr/bin/env bash
# Tessera quickstart: builds, then runs a server (sled in .tessera/quickstart) and an agent
# attested with a fresh join token, registers spiffe://example.org/user/<you> for your uid,
# and prints how to fetch the SVID. Ctrl-C stops both; running it again reuses the data.
set -euo pipefail
# shellcheck source=server/quickstart-common.sh
. "$(dirname "$0")/quickstart-common.sh"
cd "$(dirname "$0")/.."
root=$PWD

cargo build --bins --quiet
bin=$root/target/debug
data=$root/.tessera/quickstart
mkdir -p "$data"
chmod 700 "$data"
socket=$data/agent/public/api.sock
admin=$data/server/admin.sock
port=${TESSERA_QUICKSTART_PORT:-8081}

cat > "$data/server.toml" <<TOML
trust_domain = "example.org"
data_dir = "$data/server"
bind_address = "127.0.0.1:$port"
TOML

server_pid=
agent_pid=
stop() {
    trap - INT TERM EXIT
    [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    echo "stopped (data kept in $data)"
}
trap stop INT TERM EXIT

"$bin/tessera-server" run --config "$data/server.toml" 2>>"$data/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
    "$bin/tessera-server" healthcheck --socket "$admin" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "the server did not start; see $data/server.log" >&2; exit 1; }
    sleep 0.1
done

"$bin/tessera-server" bundle show --socket "$admin" > "$data/bundle.pem"
token=$("$bin/tessera-server" token generate --socket "$admin" --output json | sed 's/.*"token":"\([^"]*\)".*/\1/')
cat > "$data/agent.toml" <<TOML
trust_domain = "example.org"
server_address = "127.0.0.1:$port"
data_dir = "$data/agent"
socket_path = "$socket"
trust_bundle_path = "$data/bundle.pem"
join_token = "$token"
sync_interval = "1s"
TOML

NO_COLOR=1 "$bin/tessera-agent" run --config "$data/agent.toml" 2>>"$data/agent.log" &
agent_pid=$!
# Waits for the agent, then registers the user (quickstart-common.sh).
register_user

cat <<TXT

Tessera is running (trust domain example.org).
  server admin socket : $admin
  agent (node)        : $agent_id
  Workload API socket : $socket
  your identity       : $id (selector unix:uid:$uid)

Fetch your X.509-SVID (within a second or two of the first start):
  SPIFFE_ENDPOINT_SOCKET=unix://$socket $bin/tessera-agent api fetch x509 --write /tmp/svid

Logs: $data/server.log, $data/agent.log. Ctrl-C stops both.
TXT
wait "$server_pid" "$agent_pid"
