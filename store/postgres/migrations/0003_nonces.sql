-- nonces holds the signature nonces of accepted requests (core.Tx
-- RecordNonce): one row each, keyed for the replay check, indexed by
-- expiry for the sweep. expires is Unix nanoseconds (UTC).
CREATE TABLE nonces (
    access_key text   NOT NULL,
    nonce      text   NOT NULL,
    expires    bigint NOT NULL,
    PRIMARY KEY (access_key, nonce)
);
CREATE INDEX nonces_expires ON nonces (expires);

-- Nonces an older latchkey stored as documents keep refusing their
-- replays until they expire.
INSERT INTO nonces (access_key, nonce, expires)
    SELECT b->>'AccessKeyID', b->>'Nonce',
           (extract(epoch FROM (b->>'Expires')::timestamptz) * 1000000000)::bigint
    FROM (SELECT convert_from(body, 'UTF8')::jsonb AS b FROM docs WHERE kind = 'signature.nonce') AS old
    ON CONFLICT DO NOTHING;
DELETE FROM docs WHERE kind = 'signature.nonce';
