package sqlite

import (
	"context"
	"time"
)

func (x executor) UseNonce(ctx context.Context, nonce string, expires time.Time) (bool, error) {
	return x.inserted(x.tx.ExecContext(ctx, `INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?)
		ON CONFLICT (nonce) DO NOTHING`, nonce, toMicros(expires)))
}

func (x executor) DeleteNoncesBefore(ctx context.Context, t time.Time) (int64, error) {
	return x.reclaim(ctx)(x.affected(x.tx.ExecContext(ctx, `DELETE FROM used_nonces WHERE expires_at < ?`, toMicros(t))))
}
