package postgres

import (
	"context"
	"time"
)

// DeleteKeysRevokedBefore deletes dead rows for autovacuum to reclaim:
// PostgreSQL reuses their space for later rows (see docs/operating.md).
func (x *executor) DeleteKeysRevokedBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := x.q.Exec(ctx, `DELETE FROM api_keys WHERE revoked_at < $1`, t)
	return tag.RowsAffected(), err
}
