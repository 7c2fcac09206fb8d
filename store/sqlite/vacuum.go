package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// The database file gives back the space of what pruning deletes: it is in
// incremental auto-vacuum mode, and each pruning primitive ends with
// PRAGMA incremental_vacuum, in its transaction, which moves the pages
// left free to the end of the file and truncates it there. Without it
// SQLite would keep them for reuse, and the file would stay as large as
// the history it once held. A database created without the mode (before
// espresso set it) is converted once, when it is opened: the mode cannot
// be changed on a database that has tables but by a VACUUM, which rewrites
// the whole file (taking the write lock, and as much space again for the
// while).

// incrementalVacuum puts the database of w, the writer pool, in
// incremental auto-vacuum mode. (A new database too needs the VACUUM:
// turning WAL on has written its header already.)
func incrementalVacuum(ctx context.Context, w *sql.DB) error {
	var mode int64
	if err := w.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return err
	}
	const incremental = 2
	if mode == incremental {
		return nil
	}
	_, err := w.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM")
	return err
}

// reclaim returns what gives the pages a pruning primitive freed back to
// the file system, once it deleted n rows, and passes its results on.
func (x executor) reclaim(ctx context.Context) func(n int64, err error) (int64, error) {
	return func(n int64, err error) (int64, error) {
		if err != nil || n == 0 {
			return n, err
		}
		_, err = x.tx.ExecContext(ctx, "PRAGMA incremental_vacuum")
		return n, err
	}
}

func (x executor) DeleteKeysRevokedBefore(ctx context.Context, t time.Time) (int64, error) {
	return x.reclaim(ctx)(x.affected(x.tx.ExecContext(ctx, `DELETE FROM api_keys WHERE revoked_at < ?`, toMicros(t))))
}
