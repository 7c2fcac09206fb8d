package postgres

import (
	"context"
	"time"
)

// PruneNonces deletes the used nonces that expired before t and returns how
// many it deleted. SignIn records them.
func (s *Store) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	before = before.UTC().Truncate(time.Microsecond)
	var n int64
	err := s.run(ctx, "prune nonces", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM used_nonces WHERE expires_at < $1`, before)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
