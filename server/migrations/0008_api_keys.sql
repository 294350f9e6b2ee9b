-- API keys (issue 17): long-lived, scoped, expiring credentials of a user or an OAuth
-- client. Only the SHA-256 of the secret is stored (`secret_hash`, unique per tenant).
-- The record itself is JSON (`record`); `owner` (`user:<id>` / `client:<id>`) is a
-- column for listings by owner. Tenant-owned, under row-level security like the rest.

CREATE TABLE api_keys (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT COLLATE "C" NOT NULL,
    secret_hash TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C" NOT NULL,
    record BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_keys_by_hash ON api_keys (tenant_id, secret_hash);
CREATE INDEX api_keys_by_owner ON api_keys (tenant_id, owner, id);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = current_setting('tessera.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('tessera.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys TO tessera_app;
