-- Tessera's PostgreSQL schema, version 2: short-lived records (browser sessions with their
-- pending authorization requests, authorization codes, device codes, assertion jtis,
-- revoked access-token jtis), so any replica continues what another one started.

CREATE TABLE expiring (
    kind SMALLINT NOT NULL,
    key BYTEA NOT NULL,
    -- Empty: no group. Records of one group are listed oldest first (anonymous browser
    -- sessions of one source address).
    grp BYTEA NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX expiring_by_group ON expiring (kind, grp, created_at, key) WHERE grp <> '';
CREATE INDEX expiring_by_expiry ON expiring (expires_at);
