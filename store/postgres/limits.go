package postgres

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso/store"
)

var _ store.TokenBuckets = (*driver)(nil)

// takeToken is one token bucket step in one statement, on the database's
// clock: a missing or full row starts from now; a token is taken (tat moves
// one interval on) only if tat is at most slack ahead of now. ON CONFLICT
// evaluates that on the row's latest version, under its lock, so concurrent
// takes from any node take distinct tokens, and RETURNING reports that
// version: whether this take got a token, and how far tat is ahead.
const takeToken = `
INSERT INTO rate_limits AS r (scope, client, tat, taken)
VALUES ($1, $2, now() + $3 * interval '1 microsecond', true)
ON CONFLICT (scope, client) DO UPDATE SET
	taken = r.tat <= now() + $4 * interval '1 microsecond',
	tat = CASE WHEN r.tat <= now() + $4 * interval '1 microsecond'
		THEN greatest(r.tat, now()) + $3 * interval '1 microsecond'
		ELSE r.tat END
RETURNING taken, (extract(epoch FROM tat - now()) * 1e6)::bigint`

// TakeToken implements store.TokenBuckets.
func (d *driver) TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (ok bool, wait time.Duration, err error) {
	everyUS := max(every.Microseconds(), 1)
	slackUS := int64(max(burst, 1)-1) * everyUS
	var aheadUS int64 // tat - now
	err = d.run(ctx, func(ctx context.Context) error {
		return d.pool.QueryRow(ctx, takeToken, scope, client, everyUS, slackUS).Scan(&ok, &aheadUS)
	})
	if err != nil {
		return false, 0, err
	}
	return ok, time.Duration(max(aheadUS-slackUS, 0)) * time.Microsecond, nil
}

// SweepTokens implements store.TokenBuckets.
func (d *driver) SweepTokens(ctx context.Context) error {
	return d.run(ctx, func(ctx context.Context) error {
		_, err := d.pool.Exec(ctx, `DELETE FROM rate_limits WHERE tat < now()`)
		return err
	})
}
