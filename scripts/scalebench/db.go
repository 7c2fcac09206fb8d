package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" driver, as store/sqlite does

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

// target is the database under test, and the loader's Store on it.
type target struct {
	kind   string // "sqlite" or "postgres"
	dir    string // sqlite: the data directory
	url    string // postgres: the URL, search_path set to the schema
	schema string
	st     *store.Store
	drop   func() // drops a throwaway schema
}

func openTarget(ctx context.Context, c config, work string) (*target, error) {
	t := &target{kind: c.db}
	var err error
	if c.db == "sqlite" {
		t.dir = c.dir
		if t.dir == "" {
			t.dir = filepath.Join(work, "data")
		}
		t.st, err = sqlite.Open(ctx, t.dir, sqlite.Options{BusyTimeout: time.Minute})
	} else {
		t.schema = c.dir
		if t.schema == "" {
			t.schema = "scalebench_" + randomHex(6)
			t.drop = func() {
				_ = pgExec(context.Background(), c.url, "DROP SCHEMA "+pgx.Identifier{t.schema}.Sanitize()+" CASCADE")
			}
		}
		if err := pgExec(ctx, c.url, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{t.schema}.Sanitize()); err != nil {
			return nil, err
		}
		t.url = pgtest.WithParam(c.url, "search_path", t.schema)
		t.st, err = postgres.Open(ctx, t.url, postgres.Options{Timeout: 5 * time.Minute})
	}
	if err != nil {
		t.cleanup()
		return nil, err
	}
	if _, err := t.st.Migrate(ctx); err != nil {
		t.cleanup()
		return nil, err
	}
	return t, nil
}

func (t *target) cleanup() {
	if t.st != nil {
		_ = t.st.Close()
	}
	if t.drop != nil {
		t.drop()
	}
}

func pgExec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newAddress returns a fresh mainnet wallet address and its private key.
func newAddress() (wallet.Address, ed25519.PrivateKey) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	return wallet.NewEnterpriseAddress(pub, wallet.Mainnet), priv
}

// cheapAddress returns a fresh mainnet address nobody holds the key of:
// a random "public key", which costs no key generation.
func cheapAddress() string {
	pub := make([]byte, ed25519.PublicKeySize)
	_, _ = rand.Read(pub)
	return wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String()
}

func newKey() (apikey.Key, store.NewKey) {
	k, err := apikey.New(apikey.Live)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k, store.NewKey{Hash: k.Hash(), Masked: k.Mask()}
}

// bulkLoad tops the database up to n live keys, each on an account of its
// own, through Store.CreateAccount from many goroutines (which the Store
// commits in batches), and returns how many it created.
func bulkLoad(ctx context.Context, t *target, n int) (int, error) {
	have, err := t.liveKeys(ctx)
	if err != nil {
		return 0, err
	}
	todo := int64(n - have)
	if todo <= 0 {
		return 0, nil
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range 128 {
		wg.Go(func() {
			for next.Add(1) <= todo && lctx.Err() == nil {
				_, nk := newKey()
				if _, _, err := t.st.CreateAccount(lctx, cheapAddress(), &nk); err != nil {
					errOnce.Do(func() { failed = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return 0, failed
	}
	return int(todo), ctx.Err()
}

// benchAccounts creates n accounts whose keys the clients rotate.
func benchAccounts(ctx context.Context, t *target, n int) ([]string, error) {
	keys := make([]string, n)
	for i := range keys {
		k, nk := newKey()
		if _, _, err := t.st.CreateAccount(ctx, cheapAddress(), &nk); err != nil {
			return nil, err
		}
		keys[i] = k.String()
	}
	return keys, nil
}

// The measurements' baselines below are SQL of their own: not espresso's
// code, the database's own speed.

// liveQuery reads what a snapshot of the live keys reads.
const liveQuery = `SELECT k.account_id, k.key_hash, k.masked, k.created_at, k.last_used_at, k.revoked_at, a.wallet_address
	FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.revoked_at IS NULL`

func (t *target) liveKeys(ctx context.Context) (int, error) {
	var n int
	err := t.query(ctx, `SELECT count(*) FROM api_keys WHERE revoked_at IS NULL`, func(scan func(...any) error) error { return scan(&n) })
	return n, err
}

// query runs q on a connection of its own (read-only on SQLite), calling
// each for every row.
func (t *target) query(ctx context.Context, q string, each func(scan func(...any) error) error, args ...any) error {
	if t.kind == "sqlite" {
		db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(t.dir, sqlite.FileName)}).EscapedPath()+"?_query_only=on")
		if err != nil {
			return err
		}
		defer func() { _ = db.Close() }()
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			if err := each(rows.Scan); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	conn, err := pgx.Connect(ctx, t.url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// rawRead reads the live keys' rows, typed as the driver reads them, and
// returns how long it took and how many there were.
func rawRead(ctx context.Context, t *target) (time.Duration, int, error) {
	began := time.Now()
	n := 0
	err := t.query(ctx, liveQuery, func(scan func(...any) error) error {
		var (
			account, masked, addr string
			hash                  []byte
			created               any
			used, revoked         any
		)
		n++
		return scan(&account, &hash, &masked, &created, &used, &revoked, &addr)
	})
	return time.Since(began), n, err
}

// minRawRead is the fastest of tries raw reads (the first warms the cache,
// as the server's start finds it warm after the load).
func minRawRead(ctx context.Context, t *target, tries int) (time.Duration, int, error) {
	best, rows := time.Duration(0), 0
	for range tries {
		d, n, err := rawRead(ctx, t)
		if err != nil {
			return 0, 0, err
		}
		if best == 0 || d < best {
			best, rows = d, n
		}
	}
	return best, rows, nil
}

// rawCommits commits one single-row insert per transaction on a scratch
// table of the same database on the same disk (a file beside espresso's on
// SQLite, in WAL mode with synchronous=FULL as espresso's; a table of the
// schema on PostgreSQL) for d, one after the other, and returns commits/s.
func rawCommits(ctx context.Context, t *target, d time.Duration) (float64, error) {
	row := make([]byte, 32)
	if t.kind == "sqlite" {
		path := filepath.Join(t.dir, "scratch.db")
		defer func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		}()
		db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
		if err != nil {
			return 0, err
		}
		defer func() { _ = db.Close() }()
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
			return 0, err
		}
		return loop(ctx, d, func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			_, _ = rand.Read(row)
			if _, err := tx.ExecContext(ctx, `INSERT INTO scratch (v) VALUES (?)`, row); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		})
	}
	conn, err := pgx.Connect(ctx, t.url)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS scalebench_scratch (id bigserial PRIMARY KEY, v bytea)`); err != nil {
		return 0, err
	}
	defer func() { _, _ = conn.Exec(context.Background(), `DROP TABLE scalebench_scratch`) }()
	return loop(ctx, d, func() error {
		_, _ = rand.Read(row)
		_, err := conn.Exec(ctx, `INSERT INTO scalebench_scratch (v) VALUES ($1)`, row)
		return err
	})
}

// loop calls f until d has passed and returns calls/s.
func loop(ctx context.Context, d time.Duration, f func() error) (float64, error) {
	began := time.Now()
	n := 0
	for time.Since(began) < d {
		if err := f(); err != nil {
			return 0, err
		}
		n++
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return float64(n) / time.Since(began).Seconds(), nil
}

// size is the database's size on disk: the SQLite file and its WAL, or
// the total of the schema's relations (indexes and TOAST included).
func (t *target) size(ctx context.Context) (int64, error) {
	if t.kind == "sqlite" {
		var total int64
		for _, suffix := range []string{"", "-wal"} {
			fi, err := os.Stat(filepath.Join(t.dir, sqlite.FileName+suffix))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return 0, err
			}
			total += fi.Size()
		}
		return total, nil
	}
	var total int64
	err := t.query(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
		func(scan func(...any) error) error { return scan(&total) }, t.schema)
	return total, err
}

// vacuum stands in for autovacuum on a PostgreSQL cluster that runs
// without it (this machine's does): it vacuums the schema's tables, so
// that each round starts without the dead rows of the last (revoked keys,
// the feed counter's versions), as a production cluster's would. It does
// nothing on SQLite or where autovacuum is on, and reports whether it ran.
func (t *target) vacuum(ctx context.Context) (bool, error) {
	if t.kind != "postgres" {
		return false, nil
	}
	conn, err := pgx.Connect(ctx, t.url)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var on string
	if err := conn.QueryRow(ctx, `SHOW autovacuum`).Scan(&on); err != nil || on == "on" {
		return false, err
	}
	rows, err := conn.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return false, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, err
	}
	for _, table := range tables {
		if _, err := conn.Exec(ctx, `VACUUM `+table); err != nil {
			return false, err
		}
	}
	return true, nil
}
