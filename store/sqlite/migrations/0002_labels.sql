-- labels fingerprints the document's labels (core.Doc.Labels) as the
-- store wrote them into doc_labels (tables.Labels), so that a write keeping
-- them rewrites no label row; '' means none. NULL marks a document written before labels
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

-- label_buckets counts the open-ended label rows (valid from always to
-- for ever) per label value and bucket of 512 consecutive seqs, kept by
-- the triggers below in the same transaction as the rows. A count is a
-- sum over buckets plus the few rows with an interval (partial index
-- doc_labels_bounded), and an offset skips whole buckets, so neither
-- reads the label rows one by one.
CREATE TABLE label_buckets (
    kind    TEXT    NOT NULL,
    account TEXT    NOT NULL,
    region  TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    value   TEXT    NOT NULL,
    bucket  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (kind, account, region, name, value, bucket)
) WITHOUT ROWID;
CREATE INDEX doc_labels_bounded ON doc_labels (kind, account, region, name, value, seq, from_ns, until_ns)
    WHERE from_ns <> -9223372036854775808 OR until_ns <> 9223372036854775807;

CREATE TRIGGER doc_labels_counted AFTER INSERT ON doc_labels
WHEN NEW.from_ns = -9223372036854775808 AND NEW.until_ns = 9223372036854775807
BEGIN
    INSERT INTO label_buckets (kind, account, region, name, value, bucket, n)
    VALUES (NEW.kind, NEW.account, NEW.region, NEW.name, NEW.value, NEW.seq >> 9, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER doc_labels_uncounted AFTER DELETE ON doc_labels
WHEN OLD.from_ns = -9223372036854775808 AND OLD.until_ns = 9223372036854775807
BEGIN
    UPDATE label_buckets SET n = n - 1
    WHERE kind = OLD.kind AND account = OLD.account AND region = OLD.region
      AND name = OLD.name AND value = OLD.value AND bucket = OLD.seq >> 9;
    DELETE FROM label_buckets
    WHERE kind = OLD.kind AND account = OLD.account AND region = OLD.region
      AND name = OLD.name AND value = OLD.value AND bucket = OLD.seq >> 9 AND n = 0;
END;
