package postgres

import (
	"context"

	"github.com/espresso-auth/espresso"
)

// errSavepointLost fails a whole batch whose write failed before its
// savepoint ran: rolling back to the savepoint would undo the writes before
// it.
var errSavepointLost = espresso.E(espresso.Internal, "postgres: a statement before the write's savepoint failed")

// Savepoint implements store.Savepoints without a round trip of its own:
// the savepoint is held back to go with the write's first statement, and
// a release waits to go with the next savepoint (or is left to COMMIT,
// which releases every savepoint). At most one savepoint is open at a
// time.
func (e *executor) Savepoint(context.Context) error {
	if e.releasePending {
		e.pipe.hold("RELEASE SAVEPOINT part")
		e.releasePending = false
	}
	e.pipe.savepoint = len(e.pipe.pending)
	e.pipe.hold("SAVEPOINT part")
	if e.feed != nil {
		e.feed.save()
	}
	return nil
}

func (e *executor) ReleaseSavepoint(context.Context) error {
	e.releasePending = true
	return nil
}

// RollbackToSavepoint forgets the statements still held: they come after
// the savepoint and never ran. If the savepoint itself was never sent,
// nothing ran since, and there is nothing to roll back.
func (e *executor) RollbackToSavepoint(ctx context.Context) error {
	if e.feed != nil {
		e.feed.restore()
	}
	if e.pipe.discard() {
		return nil
	}
	if e.pipe.lost {
		return errSavepointLost
	}
	_, err := e.pipe.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT part; RELEASE SAVEPOINT part")
	return err
}
