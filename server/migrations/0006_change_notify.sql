-- Change notification for pushing entry and bundle changes to agents (issue 13).
--
-- Every write to `entries` or `bundles` sends `pg_notify('tessera_changes', …)` in the
-- writing transaction, so it is delivered (to every replica's listener connection) only if
-- and when that transaction commits, whichever replica or path wrote it. The payload is a
-- hint, never data: replicas answer it by letting the affected agents sync.
--   entries: {"k":"entry","r":<revision>,"p":[<old parent_id>, <new parent_id>]}
--   bundles: {"k":"bundle","td":<trust domain>}
-- A payload over NOTIFY's 8000-byte limit (very long parent IDs) becomes {"k":"all"}:
-- every agent syncs, and the write is never refused because of its notification.

CREATE FUNCTION tessera_notify_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload TEXT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        payload := json_build_object('k', 'entry', 'r', NEW.revision,
            'p', json_build_array(NEW.parent_id))::text;
    ELSIF TG_OP = 'UPDATE' THEN
        payload := json_build_object('k', 'entry', 'r', NEW.revision,
            'p', json_build_array(OLD.parent_id, NEW.parent_id))::text;
    ELSE
        payload := json_build_object('k', 'entry', 'r', OLD.revision,
            'p', json_build_array(OLD.parent_id))::text;
    END IF;
    IF octet_length(payload) > 7900 THEN
        payload := '{"k":"all"}';
    END IF;
    PERFORM pg_notify('tessera_changes', payload);
    RETURN NULL;
END
$$;

CREATE TRIGGER entries_notify
    AFTER INSERT OR UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION tessera_notify_entry();

CREATE FUNCTION tessera_notify_bundle() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        payload := json_build_object('k', 'bundle', 'td', OLD.trust_domain)::text;
    ELSE
        payload := json_build_object('k', 'bundle', 'td', NEW.trust_domain)::text;
    END IF;
    IF octet_length(payload) > 7900 THEN
        payload := '{"k":"all"}';
    END IF;
    PERFORM pg_notify('tessera_changes', payload);
    RETURN NULL;
END
$$;

CREATE TRIGGER bundles_notify
    AFTER INSERT OR UPDATE OR DELETE ON bundles
    FOR EACH ROW EXECUTE FUNCTION tessera_notify_bundle();
