package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// inPipeline runs fn on an executor whose pipeline is in a transaction of
// a fresh schema, rolled back afterwards.
func inPipeline(t *testing.T, fn func(ctx context.Context, x *executor)) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE t (v int)`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	p := newPipeline(tx)
	fn(ctx, &executor{q: p, pipe: p})
}

// TestPipeline_ARollbackToASavepointThatNeverRanFailsInsteadOfUndoingMore:
// when a statement held before a write's savepoint fails, the savepoint
// never ran; rolling back to it would roll back to the one before (undoing
// an earlier write of the batch), so it fails and the batch with it. When
// the statement that failed came after the savepoint, the rollback undoes
// just the write, and the transaction goes on.
func TestPipeline_ARollbackToASavepointThatNeverRanFailsInsteadOfUndoingMore(t *testing.T) {
	t.Parallel()
	t.Run("failed before the savepoint", func(t *testing.T) {
		t.Parallel()
		inPipeline(t, func(ctx context.Context, x *executor) {
			if err := x.Savepoint(ctx); err != nil { // an earlier write's
				t.Fatal(err)
			}
			x.pipe.hold(`INSERT INTO t VALUES (1)`)
			if err := x.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			_ = x.ReleaseSavepoint(ctx)
			x.pipe.hold(`SELECT 1/0`) // fails before the next savepoint
			if err := x.Savepoint(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := x.q.Exec(ctx, `INSERT INTO t VALUES (2)`); err == nil {
				t.Fatal("a batch with a division by zero succeeded")
			}
			if err := x.RollbackToSavepoint(ctx); !errors.Is(err, errSavepointLost) {
				t.Errorf("rolling back to a savepoint that never ran: %v, want %v", err, errSavepointLost)
			}
		})
	})
	t.Run("failed after the savepoint", func(t *testing.T) {
		t.Parallel()
		inPipeline(t, func(ctx context.Context, x *executor) {
			x.pipe.hold(`INSERT INTO t VALUES (1)`)
			if err := x.Savepoint(ctx); err != nil {
				t.Fatal(err)
			}
			x.pipe.hold(`INSERT INTO t VALUES (2)`)
			if _, err := x.q.Exec(ctx, `SELECT 1/0`); err == nil {
				t.Fatal("a division by zero succeeded")
			}
			if err := x.RollbackToSavepoint(ctx); err != nil {
				t.Fatalf("rolling back to a savepoint that ran: %v", err)
			}
			var n, sum int
			if err := x.q.QueryRow(ctx, `SELECT count(*), coalesce(sum(v), 0) FROM t`).Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			if n != 1 || sum != 1 {
				t.Errorf("after the rollback t holds %d rows summing to %d, want the row before the savepoint only", n, sum)
			}
		})
	})
}
