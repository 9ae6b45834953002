-- nonces holds the signature nonces of accepted requests (core.Tx
-- RecordNonce): one row each, keyed for the replay check, indexed by
-- expiry for the sweep. expires is Unix nanoseconds (UTC).
CREATE TABLE nonces (
    access_key TEXT    NOT NULL,
    nonce      TEXT    NOT NULL,
    expires    INTEGER NOT NULL,
    PRIMARY KEY (access_key, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_expires ON nonces (expires);

-- Nonces an older latchkey stored as documents keep refusing their
-- replays until they expire.
INSERT OR IGNORE INTO nonces (access_key, nonce, expires)
    SELECT json_extract(body, '$.AccessKeyID'), json_extract(body, '$.Nonce'),
           CAST(unixepoch(json_extract(body, '$.Expires'), 'subsec') * 1000000000 AS INTEGER)
    FROM docs WHERE kind = 'signature.nonce';
DELETE FROM docs WHERE kind = 'signature.nonce';
