package sqlite

import "context"

// Savepoint implements store.Savepoints. SQLite keeps a savepoint after
// ROLLBACK TO, so RollbackToSavepoint also releases it, keeping at most one
// open.
func (e executor) Savepoint(ctx context.Context) error {
	_, err := e.tx.ExecContext(ctx, "SAVEPOINT part")
	return err
}

func (e executor) ReleaseSavepoint(ctx context.Context) error {
	_, err := e.tx.ExecContext(ctx, "RELEASE part")
	return err
}

func (e executor) RollbackToSavepoint(ctx context.Context) error {
	if _, err := e.tx.ExecContext(ctx, "ROLLBACK TO part"); err != nil {
		return err
	}
	return e.ReleaseSavepoint(ctx)
}
