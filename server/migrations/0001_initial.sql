-- Tessera's PostgreSQL schema, version 1.
--
-- Keys are TEXT COLLATE "C" so that ORDER BY (and so paging) is bytewise, as on sled.
-- Proto records (entries, agents, bundles, OAuth clients) are stored encoded next to the
-- columns that are indexed or compared; JSON records (users, client secrets) likewise.

CREATE TABLE ca_journals (
    server_id TEXT COLLATE "C" PRIMARY KEY,
    revision BIGINT NOT NULL,
    data BYTEA NOT NULL
);

CREATE TABLE bundles (
    trust_domain TEXT COLLATE "C" PRIMARY KEY,
    sequence BIGINT NOT NULL,
    data BYTEA NOT NULL
);

CREATE TABLE entries (
    id TEXT COLLATE "C" PRIMARY KEY,
    spiffe_id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C" NOT NULL,
    -- `type:value` of every selector, for the selector filter (GIN).
    selectors TEXT[] NOT NULL,
    -- SHA-256 of (spiffe_id, parent_id, selectors): the uniqueness of the triple.
    triple BYTEA NOT NULL CONSTRAINT entries_triple_key UNIQUE,
    revision BIGINT NOT NULL,
    data BYTEA NOT NULL
);
CREATE INDEX entries_by_parent ON entries (parent_id, id);
CREATE INDEX entries_by_spiffe_id ON entries (spiffe_id, id);
CREATE INDEX entries_by_selector ON entries USING GIN (selectors);

-- The global entries revision: one row, bumped in the transaction of every entry write
-- (the row lock orders concurrent writers, so revisions are gapless and unique).
CREATE TABLE entries_revision (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    revision BIGINT NOT NULL
);
INSERT INTO entries_revision (singleton, revision) VALUES (TRUE, 0);

CREATE TABLE agents (
    spiffe_id TEXT COLLATE "C" PRIMARY KEY,
    data BYTEA NOT NULL
);

CREATE TABLE join_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    agent_id TEXT NOT NULL
);
CREATE INDEX join_tokens_by_expiry ON join_tokens (expires_at);

CREATE TABLE oauth_clients (
    client_id TEXT COLLATE "C" PRIMARY KEY,
    data BYTEA NOT NULL
);

CREATE TABLE oauth_client_secrets (
    client_id TEXT COLLATE "C" PRIMARY KEY
        REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    -- JSON SecretRecord: hashes only.
    data BYTEA NOT NULL
);

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY,
    -- The lowercase username: unique, so usernames are unique case-insensitively.
    username_key TEXT COLLATE "C" NOT NULL CONSTRAINT users_username_key_key UNIQUE,
    revision BIGINT NOT NULL,
    -- JSON UserRecord (password hash, sealed TOTP secret).
    data BYTEA NOT NULL
);

CREATE TABLE grants (
    grant_id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    scopes TEXT[] NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT[] NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    rotated_at BIGINT NOT NULL
);
CREATE INDEX grants_by_user ON grants (user_id);
CREATE INDEX grants_by_client ON grants (client_id);
CREATE INDEX grants_by_expiry ON grants (expires_at);
CREATE INDEX grants_by_rotation ON grants (rotated_at);

-- Refresh tokens by SHA-256 only; deleting a grant deletes its whole family.
CREATE TABLE refresh_tokens (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    grant_id TEXT COLLATE "C" NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
    generation BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_grant ON refresh_tokens (grant_id);

CREATE TABLE consents (
    user_id TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    scopes TEXT[] NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_by_client ON consents (client_id);
