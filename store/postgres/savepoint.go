package postgres

import "context"

// Savepoint implements store.Savepoints. PostgreSQL keeps a savepoint after
// ROLLBACK TO, so RollbackToSavepoint also releases it, keeping at most one
// open; both are sent as one simple-protocol round trip.
func (e *executor) Savepoint(ctx context.Context) error {
	_, err := e.q.Exec(ctx, "SAVEPOINT part")
	return err
}

func (e *executor) ReleaseSavepoint(ctx context.Context) error {
	_, err := e.q.Exec(ctx, "RELEASE SAVEPOINT part")
	return err
}

func (e *executor) RollbackToSavepoint(ctx context.Context) error {
	_, err := e.q.Exec(ctx, "ROLLBACK TO SAVEPOINT part; RELEASE SAVEPOINT part")
	return err
}
