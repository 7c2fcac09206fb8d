package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
)

// feedSeqs gives out the seqs of a feed write transaction. The
// transaction holds the feed lock (a store.FeedTx): that, not the row lock
// on key_feed, is what makes seq order commit order, so the last seq can
// be read once, as the lock is taken, and the next ones counted here; each
// write records how far it went in key_feed (executor.Flush), and a write
// rolled back to its savepoint gives its seqs back. No event then costs a
// round trip: its insert is held back like a key's.
type feedSeqs struct {
	known   bool  // the last seq as of the lock has been read, into first
	first   int64 // key_feed's last seq as the lock was taken
	last    int64 // the last seq given out (first before any)
	written int64 // what key_feed holds in this transaction
	saved   struct {
		known         bool
		last, written int64
	}
}

func (f *feedSeqs) read(row pgx.Row) error {
	if err := row.Scan(&f.first); err != nil {
		return err
	}
	f.known, f.last, f.written = true, f.first, f.first
	return nil
}

// save remembers the state at a savepoint.
func (f *feedSeqs) save() {
	f.saved.known, f.saved.last, f.saved.written = f.known, f.last, f.written
}

// restore goes back to the state at the savepoint. If the seq was read
// after it was set, by a statement held before it, nothing had been given
// out or written yet.
func (f *feedSeqs) restore() {
	if f.saved.known {
		f.last, f.written = f.saved.last, f.saved.written
	} else if f.known {
		f.last, f.written = f.first, f.first
	}
}

// AppendEvent takes the next seq: counted in a feed write transaction (see
// feedSeqs), else from key_feed in the statement. A session event keeps
// its session in the key columns (see migrations/004_sessions.sql).
func (x *executor) AppendEvent(ctx context.Context, e store.Event, at time.Time) (int64, error) {
	var seq int64
	var expires *time.Time
	account, hash, created, ended := e.Key.AccountID, e.Key.Hash[:], e.Key.CreatedAt, e.Key.RevokedAt
	if e.Kind.IsSession() {
		account, hash, created, ended = e.Session.AccountID, e.Session.Hash[:], e.Session.CreatedAt, e.Session.EndedAt
		expires = nullTime(e.Session.ExpiresAt)
	}
	if f := x.feed; f != nil {
		if !f.known {
			if err := x.pipe.flush(ctx); err != nil {
				return 0, err
			}
		}
		f.last++
		x.pipe.hold(`INSERT INTO key_events (seq, kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			f.last, int16(e.Kind), account, hash, e.Key.Masked, created, nullTime(ended), at, expires)
		return f.last, nil
	}
	err := x.q.QueryRow(ctx, `WITH f AS (UPDATE key_feed SET last_seq = last_seq + 1 RETURNING last_seq)
		INSERT INTO key_events (seq, kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at, expires_at)
		SELECT f.last_seq, $1, $2, $3, $4, $5, $6, $7, $8 FROM f
		RETURNING seq`,
		int16(e.Kind), account, hash, e.Key.Masked, created, nullTime(ended), at, expires).
		Scan(&seq)
	return seq, err
}

// Snapshot reads the live keys and the last seq with one statement, hence
// from one snapshot, on the pool as in a transaction.
func (x *executor) Snapshot(ctx context.Context) ([]store.Key, int64, error) {
	rows, err := x.q.Query(ctx, `SELECT f.last_seq, k.account_id, k.key_hash, k.masked,
			k.created_at, k.last_used_at, k.revoked_at, a.wallet_address
		FROM key_feed f LEFT JOIN (api_keys k JOIN accounts a ON a.id = k.account_id) ON k.revoked_at IS NULL
		ORDER BY k.account_id`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		keys []store.Key
		seq  int64
	)
	for rows.Next() {
		var (
			k                          store.Key
			accountID, masked, wallet  *string
			hash                       []byte
			created, lastUsed, revoked *time.Time
		)
		if err := rows.Scan(&seq, &accountID, &hash, &masked, &created, &lastUsed, &revoked, &wallet); err != nil {
			return nil, 0, err
		}
		if accountID == nil { // no live key at all
			continue
		}
		if err := store.CopyHash(&k.Hash, hash); err != nil {
			return nil, 0, err
		}
		k.AccountID, k.Masked, k.WalletAddress = *accountID, *masked, *wallet
		k.CreatedAt = timeOrZero(created)
		k.LastUsedAt = timeOrZero(lastUsed)
		keys = append(keys, k)
	}
	return keys, seq, rows.Err()
}

// Events reads the pruning horizon and the events with one statement, hence
// from one snapshot.
func (x *executor) Events(ctx context.Context, after int64, limit int) (int64, []store.Event, error) {
	rows, err := x.q.Query(ctx, `SELECT f.pruned_through, e.seq, e.kind, e.account_id, e.key_hash,
			e.masked, e.key_created_at, e.revoked_at, coalesce(a.wallet_address, ''), e.expires_at
		FROM key_feed f LEFT JOIN LATERAL (
			SELECT seq, kind, account_id, key_hash, masked, key_created_at, revoked_at, expires_at
			FROM key_events WHERE seq > $1 ORDER BY seq LIMIT $2
		) e ON true
		LEFT JOIN accounts a ON a.id = e.account_id
		ORDER BY e.seq`, after, limit)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var (
		horizon int64
		events  []store.Event
	)
	for rows.Next() {
		var (
			seq               *int64
			kind              *int16
			accountID, masked *string
			wallet            string
			hash              []byte
			created, revoked  *time.Time
			expires           *time.Time
		)
		if err := rows.Scan(&horizon, &seq, &kind, &accountID, &hash, &masked, &created, &revoked, &wallet, &expires); err != nil {
			return 0, nil, err
		}
		if seq == nil { // no event after `after`
			continue
		}
		r := store.EventRow{Seq: *seq, Kind: store.EventKind(*kind), Hash: hash, Wallet: wallet,
			Created: timeOrZero(created), Revoked: timeOrZero(revoked), Expires: timeOrZero(expires)}
		if accountID != nil {
			r.AccountID = *accountID
		}
		if masked != nil {
			r.Masked = *masked
		}
		ev, err := r.Event()
		if err != nil {
			return 0, nil, err
		}
		events = append(events, ev)
	}
	return horizon, events, rows.Err()
}

func (x *executor) FirstSeqSince(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := x.q.QueryRow(ctx, `SELECT coalesce(
		(SELECT min(seq) FROM key_events WHERE recorded_at >= $1),
		(SELECT last_seq + 1 FROM key_feed))`, t).Scan(&seq)
	return seq, err
}

func (x *executor) DeleteEventsBefore(ctx context.Context, seq int64) (int64, error) {
	var n int64
	err := x.q.QueryRow(ctx, `WITH gone AS (
			DELETE FROM key_events WHERE seq < $1 RETURNING seq
		), horizon AS (
			UPDATE key_feed SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM gone))
			WHERE EXISTS (SELECT 1 FROM gone)
		)
		SELECT count(*) FROM gone`, seq).Scan(&n)
	return n, err
}

func (x *executor) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := x.q.QueryRow(ctx, `SELECT last_seq FROM key_feed`).Scan(&seq)
	return seq, err
}

// LiveKeysAfter walks the partial index api_keys_one_live_key.
func (x *executor) LiveKeysAfter(ctx context.Context, afterAccount string, limit int) ([]store.Key, error) {
	rows, err := x.q.Query(ctx, `SELECT k.account_id, k.key_hash, k.masked, k.created_at, k.last_used_at, a.wallet_address
		FROM api_keys k JOIN accounts a ON a.id = k.account_id
		WHERE k.revoked_at IS NULL AND k.account_id > $1 ORDER BY k.account_id LIMIT $2`, afterAccount, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := make([]store.Key, 0, limit)
	for rows.Next() {
		var (
			k        store.Key
			hash     []byte
			lastUsed *time.Time
		)
		if err := rows.Scan(&k.AccountID, &hash, &k.Masked, &k.CreatedAt, &lastUsed, &k.WalletAddress); err != nil {
			return nil, err
		}
		if err := store.CopyHash(&k.Hash, hash); err != nil {
			return nil, err
		}
		k.CreatedAt = k.CreatedAt.UTC()
		k.LastUsedAt = timeOrZero(lastUsed)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
