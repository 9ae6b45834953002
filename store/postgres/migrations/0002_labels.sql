-- labels fingerprints the document's labels (core.Doc.Labels) as the
-- store wrote them into doc_labels (tables.Labels), so that a write keeping
-- them rewrites no label row; '' means none. NULL marks a document written before labels
-- existed: docs_unlabeled finds those, to be put again (core.Query.Unlabeled).
ALTER TABLE docs ADD COLUMN labels text;
CREATE INDEX docs_unlabeled ON docs (seq) WHERE labels IS NULL;

-- doc_labels holds one row per label of a document, with the document's
-- kind, account and region, valid from from_ns (inclusive) until until_ns
-- (exclusive), Unix nanoseconds. doc_labels_value serves label queries:
-- an equality prefix, then seq order, covering the validity check. Values
-- compare bytewise (COLLATE "C"), so LIKE prefixes use the index and
-- order agrees with SQLite.
CREATE TABLE doc_labels (
    seq      bigint NOT NULL REFERENCES docs (seq) ON DELETE CASCADE,
    kind     text   NOT NULL,
    account  text   NOT NULL,
    region   text   NOT NULL,
    name     text   COLLATE "C" NOT NULL,
    value    text   COLLATE "C" NOT NULL,
    from_ns  bigint NOT NULL,
    until_ns bigint NOT NULL
);
CREATE INDEX doc_labels_seq   ON doc_labels (seq);
CREATE INDEX doc_labels_value ON doc_labels (kind, account, region, name, value, seq) INCLUDE (from_ns, until_ns);
