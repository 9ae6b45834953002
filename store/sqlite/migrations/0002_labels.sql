-- labels encodes the document's labels (core.Doc.Labels) as the store
-- wrote them into doc_labels, so that a write keeping them rewrites no
-- label row; '' means none. NULL marks a document written before labels
-- existed: docs_unlabeled finds those, to be put again (core.Query.Unlabeled).
ALTER TABLE docs ADD COLUMN labels TEXT;
CREATE INDEX docs_unlabeled ON docs (seq) WHERE labels IS NULL;

-- doc_labels holds one row per label of a document, with the document's
-- kind, account and region, valid from from_ns (inclusive) until until_ns
-- (exclusive), Unix nanoseconds. doc_labels_value serves label queries:
-- an equality prefix, then seq order, covering the validity check.
CREATE TABLE doc_labels (
    seq      INTEGER NOT NULL REFERENCES docs (seq) ON DELETE CASCADE,
    kind     TEXT    NOT NULL,
    account  TEXT    NOT NULL,
    region   TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    from_ns  INTEGER NOT NULL,
    until_ns INTEGER NOT NULL
);
CREATE INDEX doc_labels_seq   ON doc_labels (seq);
CREATE INDEX doc_labels_value ON doc_labels (kind, account, region, name, value, seq, from_ns, until_ns);
