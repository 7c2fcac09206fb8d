package postgres

import (
	"context"
	"time"
)

// UseNonce waits, if another transaction is recording the same nonce, for
// it to end (ON CONFLICT).
func (x *executor) UseNonce(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	tag, err := x.q.Exec(ctx, `INSERT INTO used_nonces (nonce, expires_at) VALUES ($1, $2)
		ON CONFLICT (nonce) DO NOTHING`, nonce, expires)
	return tag.RowsAffected() > 0, err
}

func (x *executor) DeleteNoncesBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := x.q.Exec(ctx, `DELETE FROM used_nonces WHERE expires_at < $1`, t)
	return tag.RowsAffected(), err
}
