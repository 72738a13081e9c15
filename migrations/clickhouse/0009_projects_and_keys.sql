-- Projects and their API keys. A key's secret is never stored: only the
-- SHA-256 of its high-entropy secret part, compared in constant time by the
-- API. Both tables are small (one row per project, per key) and every API
-- process reads them whole, every couple of seconds, into its key cache, so
-- a revocation reaches every process within seconds without a query per
-- request. A change is a new row with a higher `version`: read with FINAL.
CREATE TABLE IF NOT EXISTS projects
(
    project_id String,
    created_at DateTime64(3, 'UTC'),
    -- Per-project limits; 0 means the server's default (API_WRITE_EVENTS_PER_SECOND, API_READ_REQUESTS_PER_SECOND).
    write_events_per_second UInt32 DEFAULT 0,
    read_requests_per_second UInt32 DEFAULT 0,
    -- Origins whose pages may call the read routes (CORS); /track accepts any origin.
    allowed_origins Array(String),
    -- JWTs: HS256 with this secret, or RS256/ES256 from the issuer's JWKS.
    jwt_hs256_secret String,
    jwt_jwks_url String,
    jwt_issuer String,
    jwt_audience String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY project_id;

CREATE TABLE IF NOT EXISTS api_keys
(
    key_id String,
    project_id String,
    name String,
    scopes Array(LowCardinality(String)),
    secret_sha256 String,
    created_at DateTime64(3, 'UTC'),
    revoked_at Nullable(DateTime64(3, 'UTC')),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY key_id;
