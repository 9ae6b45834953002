package sqlite

import (
	"context"
	"database/sql"
)

// The statements every transaction uses, prepared once per Store.
const (
	sqlGetDoc = `SELECT account, region, body FROM docs WHERE kind = ?1 AND key = ?2`
	// sqlUpdateBody replaces the body of a document that stays in its
	// account and region with the same labels: the common write touches
	// no secondary index and no label row.
	sqlUpdateBody = `UPDATE docs SET body = ?5 WHERE kind = ?1 AND key = ?2 AND account = ?3 AND region = ?4 AND labels = ?6`
	// sqlUpsertDoc inserts a document at the end of the insertion order,
	// or moves an existing one to another account or region, or to other
	// labels, in place; its label rows are then written again.
	sqlUpsertDoc = `INSERT INTO docs (kind, key, account, region, seq, body, labels)
		VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM docs), ?5, ?6)
		ON CONFLICT (kind, key) DO UPDATE SET account = excluded.account, region = excluded.region,
			body = excluded.body, labels = excluded.labels
		RETURNING seq`
	sqlDeleteLabels = `DELETE FROM doc_labels WHERE seq = ?1`
	sqlInsertLabel  = `INSERT INTO doc_labels (seq, kind, account, region, name, value, from_ns, until_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	// sqlDeleteDoc removes the document; its label rows go with it (ON
	// DELETE CASCADE).
	sqlDeleteDoc = `DELETE FROM docs WHERE kind = ?1 AND key = ?2`
	sqlSeqOf     = `SELECT seq FROM docs WHERE kind = ?1 AND key = ?2`
	// sqlRecordNonce inserts a nonce, or renews one that expired at ?4;
	// it changes no row when the nonce is live.
	sqlRecordNonce = `INSERT INTO nonces (access_key, nonce, expires) VALUES (?1, ?2, ?3)
		ON CONFLICT (access_key, nonce) DO UPDATE SET expires = excluded.expires WHERE nonces.expires <= ?4`
	sqlSweepNonces = `DELETE FROM nonces WHERE (access_key, nonce) IN
		(SELECT access_key, nonce FROM nonces WHERE expires <= ?1 ORDER BY expires LIMIT ?2)`
	// sqlAppendAudit inserts one audit row; flushAudit appends more
	// VALUES tuples to insert several.
	sqlAppendAudit = `INSERT INTO audit (time, request_id, account, user_name, access_key_id, source_ip,
		product, action, resource, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

type stmts struct {
	getDoc, updateBody, upsertDoc, deleteLabels, insertLabel, deleteDoc, seqOf *sql.Stmt
	recordNonce, sweepNonces                                                   *sql.Stmt
}

// preparer is *sql.DB or *sql.Conn.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func (st *stmts) prepare(ctx context.Context, p preparer) error {
	return prepareAll(ctx, p, map[**sql.Stmt]string{
		&st.getDoc:       sqlGetDoc,
		&st.updateBody:   sqlUpdateBody,
		&st.upsertDoc:    sqlUpsertDoc,
		&st.deleteLabels: sqlDeleteLabels,
		&st.insertLabel:  sqlInsertLabel,
		&st.deleteDoc:    sqlDeleteDoc,
		&st.seqOf:        sqlSeqOf,
		&st.recordNonce:  sqlRecordNonce,
		&st.sweepNonces:  sqlSweepNonces,
	})
}

func (st *stmts) close() {
	closeAll(st.getDoc, st.updateBody, st.upsertDoc, st.deleteLabels, st.insertLabel, st.deleteDoc, st.seqOf,
		st.recordNonce, st.sweepNonces)
}

// control holds the transaction control statements of the writer. Each fn
// of a batch runs inside SAVEPOINT fn; savepoints are not nested, so one
// name serves them all.
type control struct {
	begin, commit, rollback, savepoint, release, rollbackTo *sql.Stmt
}

func (c *control) prepare(ctx context.Context, p preparer) error {
	return prepareAll(ctx, p, map[**sql.Stmt]string{
		// IMMEDIATE takes the write lock at BEGIN, so a concurrent
		// writer in another process fails (after busy_timeout) before
		// any fn runs rather than at its first write.
		&c.begin:      "BEGIN IMMEDIATE",
		&c.commit:     "COMMIT",
		&c.rollback:   "ROLLBACK",
		&c.savepoint:  "SAVEPOINT fn",
		&c.release:    "RELEASE fn",
		&c.rollbackTo: "ROLLBACK TO fn",
	})
}

func (c *control) close() {
	closeAll(c.begin, c.commit, c.rollback, c.savepoint, c.release, c.rollbackTo)
}

func prepareAll(ctx context.Context, p preparer, m map[**sql.Stmt]string) error {
	for dst, query := range m {
		st, err := p.PrepareContext(ctx, query)
		if err != nil {
			return mapErr("sqlite.prepare", err)
		}
		*dst = st
	}
	return nil
}

func closeAll(sts ...*sql.Stmt) {
	for _, st := range sts {
		if st != nil {
			st.Close()
		}
	}
}
