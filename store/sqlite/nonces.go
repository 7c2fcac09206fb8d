package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// PruneNonces deletes the used nonces that expired before t and returns how
// many it deleted. SignIn records them.
func (s *Store) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune nonces", func(tx *sql.Tx, _ time.Time) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM used_nonces WHERE expires_at < ?`, toMicros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
