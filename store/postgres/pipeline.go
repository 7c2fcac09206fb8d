package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// pipeline is the querier of a write transaction. Statements whose answer
// nobody waits for (the feed lock, savepoints, plain inserts) are held back
// by hold and sent with the next statement that is waited for, or by flush,
// in one round trip: with the feed's seqs counted (feedSeqs), a rotation in
// a group commit costs two round trips instead of five. Loopback round trips, not the database's work, bound
// group commit here (the server idles at a third of a core while it waits).
//
// An error of a held statement is returned by the call that sent it: the
// next statement of the same write, or the flush at the write's end (see
// store.Pipeliner), so that it fails the write that issued it. Once a held
// statement fails, PostgreSQL skips the rest of the round trip, and the
// transaction is aborted as after any failed statement.
type pipeline struct {
	tx      pgx.Tx
	pending []held
	// savepoint is the index in pending of a SAVEPOINT not sent yet, or -1.
	savepoint int
	// lost: a statement held before the savepoint failed, so the savepoint
	// never ran and a rollback to it would undo earlier writes.
	lost bool
}

type held struct {
	sql  string
	args []any
	scan func(pgx.Row) error // reads its one row when it is sent; nil: none
}

func newPipeline(tx pgx.Tx) *pipeline { return &pipeline{tx: tx, savepoint: -1} }

// hold queues a statement to be sent with the next one.
func (p *pipeline) hold(sql string, args ...any) {
	p.pending = append(p.pending, held{sql: sql, args: args})
}

// holdRow queues a statement that returns one row, which scan reads when
// the statement is sent.
func (p *pipeline) holdRow(scan func(pgx.Row) error, sql string, args ...any) {
	p.pending = append(p.pending, held{sql: sql, args: args, scan: scan})
}

// send sends what is held and then sql, if any, in one batch, and returns
// the batch's results positioned at sql's, or the first held statement's
// error (after closing the batch).
func (p *pipeline) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	sent := p.pending
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(sent)+1)}
	for _, h := range sent {
		b.Queue(h.sql, h.args...)
	}
	if sql != "" {
		b.Queue(sql, args...)
	}
	sp := p.savepoint
	p.pending, p.savepoint = nil, -1
	br := p.tx.SendBatch(ctx, b)
	for i, h := range sent {
		var err error
		if h.scan != nil {
			err = h.scan(br.QueryRow())
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			p.lost = p.lost || i <= sp
			_ = br.Close()
			return nil, err
		}
	}
	return br, nil
}

// flush sends what is held, if anything.
func (p *pipeline) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	br, err := p.send(ctx, "", nil)
	if err != nil {
		return err
	}
	return br.Close()
}

// discard forgets what is held from the savepoint held last on, if it was
// not sent (nothing since it ran, so there is nothing to roll back), and
// reports whether it did; otherwise it forgets every held statement: they
// came after a savepoint that was sent and are about to be rolled back to.
func (p *pipeline) discard() (unsent bool) {
	if p.savepoint >= 0 {
		p.pending, p.savepoint = p.pending[:p.savepoint], -1
		return true
	}
	p.pending = p.pending[:0]
	return false
}

func (p *pipeline) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(p.pending) == 0 {
		return p.tx.Exec(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (p *pipeline) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if len(p.pending) == 0 {
		return p.tx.Query(ctx, sql, args...)
	}
	// As pgx's Query does, an error comes back in the rows too: callers
	// may read it from them alone.
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return errRows{err: err}, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return errRows{err: err}, err
	}
	return batchRows{rows, br}, nil
}

func (p *pipeline) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if len(p.pending) == 0 {
		return p.tx.QueryRow(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br.QueryRow(), br}
}

// batchRows are a batch's last result: closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	_ = r.br.Close()
}

// batchRow is a batch's last result, a row: scanning it closes the batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a row that could not be read.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// errRows are rows that could not be read: no row, and err.
type errRows struct{ err error }

var _ pgx.Rows = errRows{}

func (r errRows) Close()                                       {}
func (r errRows) Err() error                                   { return r.err }
func (r errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r errRows) Next() bool                                   { return false }
func (r errRows) Scan(...any) error                            { return r.err }
func (r errRows) Values() ([]any, error)                       { return nil, r.err }
func (r errRows) RawValues() [][]byte                          { return nil }
func (r errRows) Conn() *pgx.Conn                              { return nil }
func (r errRows) TypeMap() *pgtype.Map                         { return nil }
