# Shared by quickstart.sh and quickstart-ha.sh (sourced): waits for the agent started as
# $agent_pid to answer on $socket, reads its ID from $data/agent.log and registers the
# user's uid as spiffe://example.org/user/<name> through $admin; sets $agent_id and $id.
register_user() {
    for _ in $(seq 1 100); do
        "$bin/tessera-agent" healthcheck --socket "$socket" >/dev/null 2>&1 && break
        kill -0 "$agent_pid" 2>/dev/null || { echo "the agent did not start; see $data/agent.log" >&2; exit 1; }
        sleep 0.1
    done

    # The agent's ID, as it logged it (attested now, or reusing its persisted SVID).
    agent_id=
    for _ in $(seq 1 100); do
        agent_id=$(grep -o 'spiffe://example.org/tessera/agent/[^ ]*' "$data/agent.log" | tail -n 1 || true)
        [ -n "$agent_id" ] && break
        sleep 0.1
    done
    user=$(id -un)
    uid=$(id -u)
    id="spiffe://example.org/user/$user"
    if ! "$bin/tessera-server" entry show --socket "$admin" --spiffe-id "$id" --parent-id "$agent_id" --output json | grep -q '"id"'; then
        "$bin/tessera-server" entry create --socket "$admin" --parent-id "$agent_id" \
            --spiffe-id "$id" --selector "unix:uid:$uid" >/dev/null
    fi
}
