package postgres

import "context"

// Savepoint implements store.Savepoints, saving round trips: a release is
// sent with the next savepoint (or left to COMMIT, which releases every
// savepoint), and a rollback to a savepoint with its release, each pair as
// one simple-protocol message. At most one savepoint is open at a time.
func (e *executor) Savepoint(ctx context.Context) error {
	q := "SAVEPOINT part"
	if e.releasePending {
		q = "RELEASE SAVEPOINT part; SAVEPOINT part"
	}
	if _, err := e.q.Exec(ctx, q); err != nil {
		return err
	}
	e.releasePending = false
	return nil
}

func (e *executor) ReleaseSavepoint(context.Context) error {
	e.releasePending = true
	return nil
}

func (e *executor) RollbackToSavepoint(ctx context.Context) error {
	_, err := e.q.Exec(ctx, "ROLLBACK TO SAVEPOINT part; RELEASE SAVEPOINT part")
	return err
}
