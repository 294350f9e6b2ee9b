-- Tessera's PostgreSQL schema, version 3: federation relationships (other trust domains
-- whose bundles this trust domain fetches from their bundle endpoints) and what the last
-- fetch saw. The fetched bundles themselves live in `bundles`.

CREATE TABLE federation_relationships (
    trust_domain TEXT COLLATE "C" PRIMARY KEY,
    -- prost `tessera.admin.v1.FederationRelationship`.
    data BYTEA NOT NULL,
    -- prost `tessera.admin.v1.FederationStatus`, written by the fetcher of any replica
    -- (last writer wins); NULL before the first fetch.
    status BYTEA
);
