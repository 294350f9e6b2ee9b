-- Tessera's PostgreSQL schema, version 5: tenants.
--
-- Every tenant-owned row (users, OAuth clients and their secrets, consents, grants and
-- refresh tokens, short-lived records: sessions, codes, device codes, replay and
-- revocation records) carries its tenant, and row-level security, enabled and forced,
-- admits only the rows of the tenant the transaction set:
--     SELECT set_config('tessera.tenant_id', '<tenant>', true)
-- A statement that forgot its tenant filter sees nothing of another tenant; one that runs
-- without a tenant set sees nothing at all.
--
-- The application works as the role `tessera_app` (made here when missing): not the owner
-- of any table and without BYPASSRLS, so the policies bind it. The server switches its
-- pooled connections to it (`SET ROLE`) and refuses to start when its role could bypass
-- row-level security.

CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO tenants (id, name, created_at, updated_at)
VALUES ('default', 'Default', extract(epoch FROM now())::BIGINT, extract(epoch FROM now())::BIGINT);

-- Keys that were unique server-wide become unique per tenant.
ALTER TABLE oauth_client_secrets DROP CONSTRAINT oauth_client_secrets_client_id_fkey;
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_grant_id_fkey;

ALTER TABLE oauth_clients
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default'
        REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE oauth_clients DROP CONSTRAINT oauth_clients_pkey;
ALTER TABLE oauth_clients ADD PRIMARY KEY (tenant_id, client_id);

ALTER TABLE oauth_client_secrets
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default';
ALTER TABLE oauth_client_secrets DROP CONSTRAINT oauth_client_secrets_pkey;
ALTER TABLE oauth_client_secrets ADD PRIMARY KEY (tenant_id, client_id);
ALTER TABLE oauth_client_secrets ADD FOREIGN KEY (tenant_id, client_id)
    REFERENCES oauth_clients (tenant_id, client_id) ON DELETE CASCADE;

ALTER TABLE users
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default'
        REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE users DROP CONSTRAINT users_username_key_key;
ALTER TABLE users ADD CONSTRAINT users_username_key_key UNIQUE (tenant_id, username_key);

ALTER TABLE grants
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default'
        REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE grants DROP CONSTRAINT grants_pkey;
ALTER TABLE grants ADD PRIMARY KEY (tenant_id, grant_id);
DROP INDEX grants_by_user;
DROP INDEX grants_by_client;
DROP INDEX grants_by_expiry;
CREATE INDEX grants_by_user ON grants (tenant_id, user_id);
CREATE INDEX grants_by_client ON grants (tenant_id, client_id);
CREATE INDEX grants_by_expiry ON grants (tenant_id, expires_at);

ALTER TABLE refresh_tokens
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default';
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_pkey;
ALTER TABLE refresh_tokens ADD PRIMARY KEY (tenant_id, token_hash);
ALTER TABLE refresh_tokens ADD FOREIGN KEY (tenant_id, grant_id)
    REFERENCES grants (tenant_id, grant_id) ON DELETE CASCADE;
DROP INDEX refresh_tokens_by_grant;
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (tenant_id, grant_id);

ALTER TABLE consents
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default'
        REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE consents DROP CONSTRAINT consents_pkey;
ALTER TABLE consents ADD PRIMARY KEY (tenant_id, user_id, client_id);
DROP INDEX consents_by_client;
CREATE INDEX consents_by_client ON consents (tenant_id, client_id);

ALTER TABLE expiring
    ADD COLUMN tenant_id TEXT COLLATE "C" NOT NULL DEFAULT 'default'
        REFERENCES tenants (id) ON DELETE CASCADE;
ALTER TABLE expiring DROP CONSTRAINT expiring_pkey;
ALTER TABLE expiring ADD PRIMARY KEY (tenant_id, kind, key);
DROP INDEX expiring_by_group;
DROP INDEX expiring_by_expiry;
CREATE INDEX expiring_by_group ON expiring (tenant_id, kind, grp, created_at, key) WHERE grp <> '';
CREATE INDEX expiring_by_expiry ON expiring (tenant_id, expires_at);

-- New rows name their tenant explicitly: no default to fall back on.
ALTER TABLE oauth_clients ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE oauth_client_secrets ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE users ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE grants ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE refresh_tokens ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE consents ALTER COLUMN tenant_id DROP DEFAULT;
ALTER TABLE expiring ALTER COLUMN tenant_id DROP DEFAULT;

-- Row-level security: enabled, forced (binds the owner too), one policy per table.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['oauth_clients', 'oauth_client_secrets', 'users', 'grants',
                             'refresh_tokens', 'consents', 'expiring'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I '
            'USING (tenant_id = current_setting(''tessera.tenant_id'', true)) '
            'WITH CHECK (tenant_id = current_setting(''tessera.tenant_id'', true))', t);
    END LOOP;
END
$$;

-- The application role. Roles are cluster-wide: another database of the cluster (or a
-- concurrent migration) may have made it already.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tessera_app') THEN
        BEGIN
            CREATE ROLE tessera_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'tessera_app', 'MEMBER') THEN
        EXECUTE format('GRANT tessera_app TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO tessera_app', current_schema());
    EXECUTE format(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO tessera_app',
        current_schema());
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO tessera_app',
        current_schema());
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO tessera_app',
        current_schema());
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO tessera_app',
        current_schema());
    EXECUTE format('REVOKE ALL ON TABLE %I._sqlx_migrations FROM tessera_app', current_schema());
END
$$;
