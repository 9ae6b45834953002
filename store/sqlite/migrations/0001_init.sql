-- docs holds every resource as a JSON document (core.Doc).
-- seq is the insertion order, global across kinds; replacing a document
-- keeps its seq. account and region are '' for resources outside any
-- account or region.
CREATE TABLE docs (
    kind    TEXT    NOT NULL CHECK (kind <> ''),
    key     TEXT    NOT NULL CHECK (key <> ''),
    account TEXT    NOT NULL,
    region  TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    body    BLOB    NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- One index per shape of core.Query, each ending in seq so that a listing
-- is an ordered range scan and After/Limit paging never sorts.
CREATE UNIQUE INDEX docs_seq            ON docs (seq);
CREATE INDEX        docs_kind           ON docs (kind, seq);
CREATE INDEX        docs_account        ON docs (kind, account, seq);
CREATE INDEX        docs_account_region ON docs (kind, account, region, seq);
CREATE INDEX        docs_region         ON docs (kind, region, seq);

-- audit holds core.AuditEvent records. id is the append order and breaks
-- ties between events of the same time; time is Unix nanoseconds (UTC).
CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    time          INTEGER NOT NULL,
    request_id    TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    user_name     TEXT    NOT NULL,
    access_key_id TEXT    NOT NULL,
    source_ip     TEXT    NOT NULL,
    product       TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    resource      TEXT    NOT NULL,
    result        TEXT    NOT NULL,
    detail        TEXT    NOT NULL
);

-- Queries by resource, by principal (account, user or access key) and by
-- time range; each index ends in time (and implicitly id), so results come
-- oldest first without a sort.
CREATE INDEX audit_resource   ON audit (resource, time);
CREATE INDEX audit_principal  ON audit (account, user_name, time);
CREATE INDEX audit_access_key ON audit (access_key_id, time);
CREATE INDEX audit_time       ON audit (time);
