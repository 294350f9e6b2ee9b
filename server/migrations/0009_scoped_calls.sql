-- Tessera's PostgreSQL schema, version 9: the refresh path in one round trip per call.
--
-- A tenant-scoped call otherwise takes three round trips: `BEGIN; set_config(…)`, the
-- statement, `COMMIT`. Each function below does the same work in one: called as a single
-- statement in autocommit, it is its own transaction; it sets the tenant for that
-- transaction (`set_config('tessera.tenant_id', p_tenant, true)`) and only then runs its
-- query, so row-level security admits only that tenant's rows, as in a scoped transaction.
-- SECURITY INVOKER (the default, spelled out): the policies bind the caller as before.
-- Each query also filters on the tenant itself, as every statement of the application does.

-- A refresh token by hash and, while they exist, its grant and the grant's user record,
-- which a refresh checks before it rotates (`find_refresh_token_and_user`; also
-- `find_refresh_token`, which ignores the user).
CREATE FUNCTION tessera_find_refresh_token_and_user(p_tenant TEXT, p_hash TEXT)
RETURNS TABLE (
    token_grant_id TEXT, token_generation BIGINT,
    grant_id TEXT, user_id TEXT, client_id TEXT, scopes TEXT[], auth_time BIGINT,
    amr TEXT[], created_at BIGINT, expires_at BIGINT, generation BIGINT, rotated_at BIGINT,
    user_data BYTEA
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('tessera.tenant_id', p_tenant, true);
    RETURN QUERY
        SELECT t.grant_id, t.generation,
               g.grant_id, g.user_id, g.client_id, g.scopes, g.auth_time, g.amr,
               g.created_at, g.expires_at, g.generation, g.rotated_at, u.data
        FROM refresh_tokens t
        LEFT JOIN grants g ON g.tenant_id = t.tenant_id AND g.grant_id = t.grant_id
        LEFT JOIN users u ON u.tenant_id = g.tenant_id AND u.id = g.user_id
        WHERE t.tenant_id = p_tenant AND t.token_hash = p_hash;
END
$$;

-- One rotation (`rotate_refresh_token`): the generation swap, only while the presented
-- hash is that generation's token, and the new token's row, as one statement.
CREATE FUNCTION tessera_rotate_refresh_token(
    p_tenant TEXT, p_grant TEXT, p_expected BIGINT, p_next BIGINT, p_now BIGINT,
    p_old_hash TEXT, p_new_hash TEXT
)
RETURNS TABLE (
    grant_id TEXT, user_id TEXT, client_id TEXT, scopes TEXT[], auth_time BIGINT,
    amr TEXT[], created_at BIGINT, expires_at BIGINT, generation BIGINT, rotated_at BIGINT
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('tessera.tenant_id', p_tenant, true);
    RETURN QUERY
        WITH rotated AS (
            UPDATE grants SET generation = p_next, rotated_at = p_now
            WHERE tenant_id = p_tenant AND grant_id = p_grant AND generation = p_expected
              AND EXISTS (SELECT 1 FROM refresh_tokens t
                          WHERE t.tenant_id = p_tenant AND t.token_hash = p_old_hash
                            AND t.grant_id = p_grant AND t.generation = p_expected)
            RETURNING grant_id, user_id, client_id, scopes, auth_time, amr, created_at,
                      expires_at, generation, rotated_at),
        added AS (
            INSERT INTO refresh_tokens (token_hash, grant_id, generation, tenant_id)
            SELECT p_new_hash, r.grant_id, r.generation, p_tenant FROM rotated r)
        SELECT r.grant_id, r.user_id, r.client_id, r.scopes, r.auth_time, r.amr,
               r.created_at, r.expires_at, r.generation, r.rotated_at
        FROM rotated r;
END
$$;

-- A user's record by ID (`get_user`).
CREATE FUNCTION tessera_get_user(p_tenant TEXT, p_id TEXT)
RETURNS TABLE (data BYTEA)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('tessera.tenant_id', p_tenant, true);
    RETURN QUERY SELECT u.data FROM users u WHERE u.tenant_id = p_tenant AND u.id = p_id;
END
$$;

REVOKE ALL ON FUNCTION tessera_find_refresh_token_and_user(TEXT, TEXT) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_rotate_refresh_token(TEXT, TEXT, BIGINT, BIGINT, BIGINT, TEXT, TEXT)
    FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_get_user(TEXT, TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tessera_find_refresh_token_and_user(TEXT, TEXT) TO tessera_app;
GRANT EXECUTE ON FUNCTION tessera_rotate_refresh_token(TEXT, TEXT, BIGINT, BIGINT, BIGINT, TEXT, TEXT)
    TO tessera_app;
GRANT EXECUTE ON FUNCTION tessera_get_user(TEXT, TEXT) TO tessera_app;
