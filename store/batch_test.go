package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// The group commit's own tests: the contract suite (storetest) proves that
// concurrent writes keep every rule, however they happen to be batched;
// these hold the committer so that chosen writes surely share one batch.

// backends opens a fresh, migrated Store on each backend (PostgreSQL when
// pgtest has a database), closed when the test ends.
var backends = map[string]func(t testing.TB) *store.Store{
	"sqlite": func(t testing.TB) *store.Store {
		s, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
		return migrated(t, s, err)
	},
	"postgres": func(t testing.TB) *store.Store {
		s, err := postgres.Open(t.Context(), pgtest.URL(t), postgres.Options{Timeout: 30 * time.Second})
		return migrated(t, s, err)
	},
}

func migrated(t testing.TB, s *store.Store, err error) *store.Store {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func newKey(t testing.TB) store.NewKey {
	t.Helper()
	k, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	return store.NewKey{Hash: k.Hash(), Masked: k.Mask()}
}

func newWallet() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return "addr_test1q" + hex.EncodeToString(b)
}

// queue runs each call in its own goroutine once the committer is held,
// each once the one before is queued (so the batch runs them in this
// order), releases the committer and returns their errors, in order.
func queue(t *testing.T, s *store.Store, calls ...func() error) []error {
	t.Helper()
	queued, release := store.HoldBatches(s)
	defer release()
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
		for queued() < i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d writes queued after 30s", queued(), len(calls))
			}
			time.Sleep(time.Millisecond)
		}
	}
	release()
	wg.Wait()
	return errs
}

// withTakenKey gives s an account with a key, whose hash later writes may
// try to reuse, and returns them with the feed's position after them.
func withTakenKey(t *testing.T, s *store.Store) (owner store.Account, taken store.NewKey, seq int64) {
	t.Helper()
	taken = newKey(t)
	owner, _, err := s.CreateAccount(t.Context(), newWallet(), &taken)
	if err != nil {
		t.Fatal(err)
	}
	if _, seq, err = s.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	return owner, taken, seq
}

// wantAccounts checks that the wallets of present have an account, and
// those of absent none (their writes were rolled back).
func wantAccounts(t *testing.T, s *store.Store, present []string, absent ...string) {
	t.Helper()
	for _, w := range present {
		if _, err := s.AccountByWallet(t.Context(), w); err != nil {
			t.Errorf("a good write's account: %v", err)
		}
	}
	for _, w := range absent {
		if _, err := s.AccountByWallet(t.Context(), w); !errors.Is(err, espresso.ErrUserNotFound) {
			t.Errorf("a failed write's account: %v, want it rolled back (not found)", err)
		}
	}
}

// wantIssuedAfter checks that the feed after seq is exactly a KeyIssued
// for each of wallets, in order, with the next seqs: the failed writes of
// the batch kept none.
func wantIssuedAfter(t *testing.T, s *store.Store, seq int64, wallets ...string) {
	t.Helper()
	events, err := s.Events(t.Context(), seq, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(wallets) {
		t.Fatalf("the feed after the batch: %d events %+v, want the good writes' %d KeyIssued", len(events), events, len(wallets))
	}
	for i, w := range wallets {
		if ev := events[i]; ev.Kind != store.KeyIssued || ev.Seq != seq+int64(i)+1 || ev.Key.WalletAddress != w {
			t.Errorf("event %d: %v #%d of %s, want KeyIssued #%d of %s", i, ev.Kind, ev.Seq, ev.Key.WalletAddress, seq+int64(i)+1, w)
		}
	}
	if head, err := s.FeedHead(t.Context()); err != nil || head != seq+int64(len(wallets)) {
		t.Errorf("the feed's head %d (%v), want %d", head, err, seq+int64(len(wallets)))
	}
}

func TestBatch_AFailingWriteNeitherFailsNorCommitsTheOthersOfItsBatch(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			owner, taken, seq := withTakenKey(t, s)
			sizes := store.BatchSizes(s)

			good := []string{newWallet(), newWallet(), newWallet()}
			bad := newWallet() // its account is inserted, then its key is refused
			wrong := newKey(t)
			create := func(w string) func() error {
				return func() error {
					k := newKey(t)
					_, _, err := s.CreateAccount(t.Context(), w, &k)
					return err
				}
			}
			// The failing writes run between good ones: those after them
			// take the next seqs, as if the failed writes never ran.
			calls := []func() error{
				create(good[0]), create(good[1]),
				func() error { _, _, err := s.CreateAccount(t.Context(), bad, &taken); return err },
				func() error {
					_, _, err := s.RotateKey(t.Context(), owner.ID, &wrong.Hash, newKey(t))
					return err
				},
				create(good[2]),
			}
			errs := queue(t, s, calls...)

			if got := sizes(); !slices.Equal(got, []int{len(calls)}) {
				t.Fatalf("batch sizes %v, want the %d writes in one batch", got, len(calls))
			}
			for i, at := range []int{0, 1, 4} {
				if errs[at] != nil {
					t.Errorf("good write %d failed with its batch: %v", i, errs[at])
				}
			}
			if espresso.KindOf(errs[2]) != espresso.Internal {
				t.Errorf("the account whose key is taken: %v, want internal", errs[2])
			}
			if !errors.Is(errs[3], store.ErrKeyNotLive) {
				t.Errorf("the rotation with a wrong key: %v, want %v", errs[3], store.ErrKeyNotLive)
			}
			wantAccounts(t, s, good, bad)
			wantIssuedAfter(t, s, seq, good...)
		})
	}
}

func TestBatch_RotationsPresentingOneKeyInOneBatchHaveOneWinner(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			first := newKey(t)
			acct, _, err := s.CreateAccount(t.Context(), newWallet(), &first)
			if err != nil {
				t.Fatal(err)
			}
			sizes := store.BatchSizes(s)
			next := make([]store.NewKey, 8)
			calls := make([]func() error, len(next))
			for i := range next {
				next[i] = newKey(t)
				calls[i] = func() error {
					_, _, err := s.RotateKey(t.Context(), acct.ID, &first.Hash, next[i])
					return err
				}
			}
			errs := queue(t, s, calls...)
			if got := sizes(); !slices.Equal(got, []int{len(calls)}) {
				t.Fatalf("batch sizes %v, want one batch of %d", got, len(calls))
			}
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("rotations %d and %d both won", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, store.ErrKeyNotLive):
					t.Errorf("rotation %d: %v, want a winner or %v", i, err, store.ErrKeyNotLive)
				}
			}
			if winner < 0 {
				t.Fatal("no rotation won")
			}
			live, err := s.LiveKey(t.Context(), acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			if live.Hash != next[winner].Hash {
				t.Errorf("the live key is not the winner's")
			}
		})
	}
}

func TestBatch_AWriteWithdrawnBeforeItsBatchRunsIsNeverCommitted(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			queued, release := store.HoldBatches(s)
			defer release()
			ctx, cancel := context.WithCancel(t.Context())
			w := newWallet()
			done := make(chan error)
			go func() { _, _, err := s.CreateAccount(ctx, w, nil); done <- err }()
			for deadline := time.Now().Add(30 * time.Second); queued() < 1; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the write did not queue in 30s")
				}
			}
			cancel()
			if err := <-done; espresso.KindOf(err) != espresso.Unavailable {
				t.Errorf("the withdrawn write: %v, want unavailable", err)
			}
			release()
			// A later write commits, so the withdrawn one would have too.
			if _, _, err := s.CreateAccount(t.Context(), newWallet(), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.AccountByWallet(t.Context(), w); !errors.Is(err, espresso.ErrUserNotFound) {
				t.Errorf("the withdrawn write's account: %v, want not found", err)
			}
		})
	}
}

func TestBatch_ABatchThatCannotCommitFailsEveryWriteAndCommitsNone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := sqlite.Open(t.Context(), dir, sqlite.Options{BusyTimeout: 50 * time.Millisecond})
	s = migrated(t, s, err)
	sizes := store.BatchSizes(s)

	// Another connection holds the write lock past the busy timeout.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.Join(dir, sqlite.FileName)}).EscapedPath()+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), `INSERT INTO settings (name, value) VALUES ('lock', x'00')`); err != nil {
		t.Fatal(err)
	}

	ws := []string{newWallet(), newWallet(), newWallet()}
	calls := make([]func() error, len(ws))
	for i, w := range ws {
		calls[i] = func() error { _, _, err := s.CreateAccount(t.Context(), w, nil); return err }
	}
	for i, err := range queue(t, s, calls...) {
		if espresso.KindOf(err) != espresso.Unavailable {
			t.Errorf("write %d of the locked-out batch: %v, want unavailable", i, err)
		}
	}
	if got := sizes(); !slices.Equal(got, []int{len(calls)}) {
		t.Fatalf("batch sizes %v, want one batch of %d", got, len(calls))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if _, err := s.AccountByWallet(t.Context(), w); !errors.Is(err, espresso.ErrUserNotFound) {
			t.Errorf("an account of the failed batch: %v, want not found", err)
		}
	}
}

func TestBatch_ClosingTheStoreFailsQueuedWritesUnavailable(t *testing.T) {
	t.Parallel()
	s := backends["sqlite"](t)
	queued, release := store.HoldBatches(s)
	defer release()
	done := make(chan error)
	go func() { _, _, err := s.CreateAccount(context.Background(), newWallet(), nil); done <- err }()
	for deadline := time.Now().Add(30 * time.Second); queued() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the write did not queue in 30s")
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; espresso.KindOf(err) != espresso.Unavailable {
		t.Errorf("a write queued at Close: %v, want unavailable", err)
	}
	if _, _, err := s.CreateAccount(t.Context(), newWallet(), nil); espresso.KindOf(err) != espresso.Unavailable {
		t.Errorf("a write after Close: %v, want unavailable", err)
	}
}

// TestBatch_AStatementHeldBackFailsTheWriteThatIssuedIt: a driver may hold
// a statement back to send it with the next one (PostgreSQL does, for
// inserts and savepoints). In one batch: a write that fails before any
// statement, one whose last statement is a held insert that fails, one
// whose last is a held insert that succeeds, and an ordinary write. Each
// gets its own outcome, and only the good ones are committed.
func TestBatch_AStatementHeldBackFailsTheWriteThatIssuedIt(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			_, taken, seq := withTakenKey(t, s)
			errEarly := errors.New("refused before any statement")
			// accountWithKey inserts an account, records its key's event,
			// then inserts the key as the write's last statement.
			accountWithKey := func(wallet string, k store.NewKey) func() error {
				return func() error {
					return store.QueueWrite(s, t.Context(), store.FeedTx, func(ctx context.Context, tx store.Tx, now time.Time) error {
						a := store.Account{ID: store.NewID(), WalletAddress: wallet, CreatedAt: now}
						if _, err := tx.InsertAccount(ctx, a); err != nil {
							return err
						}
						key := store.Key{AccountID: a.ID, WalletAddress: wallet, Hash: k.Hash, Masked: k.Masked, CreatedAt: now}
						if _, err := tx.AppendEvent(ctx, store.Event{Kind: store.KeyIssued, Key: key}, now); err != nil {
							return err
						}
						return tx.InsertKey(ctx, key)
					})
				}
			}
			badWallet, goodWallet, lastWallet := newWallet(), newWallet(), newWallet()
			good := newKey(t)
			sizes := store.BatchSizes(s)
			errs := queue(t, s,
				func() error {
					return store.QueueWrite(s, t.Context(), store.FeedTx, func(context.Context, store.Tx, time.Time) error { return errEarly })
				},
				accountWithKey(badWallet, taken),
				// A held insert that fails (no such account), then a
				// read, whose answer carries the insert's error.
				func() error {
					return store.QueueWrite(s, t.Context(), store.FeedTx, func(ctx context.Context, tx store.Tx, now time.Time) error {
						k := newKey(t)
						if err := tx.InsertKey(ctx, store.Key{AccountID: store.NewID(), WalletAddress: newWallet(), Hash: k.Hash, Masked: k.Masked, CreatedAt: now}); err != nil {
							return err
						}
						_, _, err := tx.AccountByWallet(ctx, newWallet())
						return err
					})
				},
				accountWithKey(goodWallet, good),
				func() error { k := newKey(t); _, _, err := s.CreateAccount(t.Context(), lastWallet, &k); return err },
			)
			if got := sizes(); !slices.Equal(got, []int{5}) {
				t.Fatalf("batch sizes %v, want the 5 writes in one batch", got)
			}
			if !errors.Is(errs[0], errEarly) {
				t.Errorf("the write refused before any statement: %v", errs[0])
			}
			if errs[1] == nil {
				t.Error("the write whose held insert reuses a live key's hash succeeded")
			}
			if errs[2] == nil || strings.Contains(errs[2].Error(), "panicked") {
				t.Errorf("the write whose held insert fails before a read: %v, want the insert's error", errs[2])
			}
			if errs[3] != nil || errs[4] != nil {
				t.Errorf("the good writes failed: %v, %v", errs[3], errs[4])
			}
			wantAccounts(t, s, []string{goodWallet, lastWallet}, badWallet)
			if k, err := s.LiveKeyByHash(t.Context(), good.Hash); err != nil || k.WalletAddress != goodWallet {
				t.Errorf("the key inserted last in its write: %+v, %v; want it committed", k, err)
			}
			wantIssuedAfter(t, s, seq, goodWallet, lastWallet)
		})
	}
}
