package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
)

var _ store.TokenBuckets = (*driver)(nil)

// takeToken is one token bucket step in one statement, on the database's
// clock: a missing or full row starts from now; a token is taken (tat moves
// one interval on) only if tat is at most slack ahead of now, which the
// upsert's WHERE decides under the row's lock, so concurrent takes from any
// node take distinct tokens. A refused take changes nothing, and reads the
// row to say how long to wait.
const takeToken = `
WITH taken AS (
	INSERT INTO rate_limits AS r (scope, client, tat)
	VALUES ($1, $2, now() + $3 * interval '1 microsecond')
	ON CONFLICT (scope, client) DO UPDATE
		SET tat = greatest(r.tat, now()) + $3 * interval '1 microsecond'
		WHERE r.tat <= now() + $4 * interval '1 microsecond'
	RETURNING tat
)
SELECT true, (extract(epoch FROM tat - now()) * 1e6)::bigint FROM taken
UNION ALL
SELECT false, (extract(epoch FROM tat - now()) * 1e6)::bigint FROM rate_limits
	WHERE scope = $1 AND client = $2 AND NOT EXISTS (SELECT FROM taken)`

// TakeToken implements store.TokenBuckets.
func (d *driver) TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (ok bool, wait time.Duration, err error) {
	everyUS := max(every.Microseconds(), 1)
	slackUS := int64(max(burst, 1)-1) * everyUS
	var aheadUS int64 // tat - now
	err = d.run(ctx, func(ctx context.Context) error {
		return d.pool.QueryRow(ctx, takeToken, scope, client, everyUS, slackUS).Scan(&ok, &aheadUS)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		// Refused while another node created the row after this statement's
		// snapshot: the bucket was taken from concurrently, so wait a token.
		return false, every, nil
	}
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
