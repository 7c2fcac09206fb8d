// Package storetest is the contract suite every store driver passes, run
// through the *store.Store it backs. A driver's test calls Run with a
// description of the backend:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, storetest.Backend{
//			NewDB: func(t testing.TB) storetest.Opener {
//				dir := t.TempDir()
//				return func(t testing.TB, now func() time.Time) *store.Store {
//					s, err := sqlite.Open(t.Context(), dir, sqlite.Options{Now: now})
//					if err != nil {
//						t.Fatal(err)
//					}
//					return s
//				}
//			},
//		})
//	}
//
// The suite migrates and closes the handles it opens itself. Every test
// makes its own databases, so they all run in parallel. It relies on nothing
// but the *store.Store contract, so it runs unchanged against every backend.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// Opener opens a new handle, as another process would, on the one database
// this Opener stands for. The handle's clock is now. It calls t.Fatal if it
// cannot; the suite closes the handle.
type Opener func(t testing.TB, now func() time.Time) *store.Store

// Backend describes the backend under test.
type Backend struct {
	// NewDB returns an Opener for a fresh, empty, isolated database (not
	// yet migrated) each time it is called, from any goroutine.
	NewDB func(t testing.TB) Opener
	// Pushes says that the database pushes change notifications, so that
	// Watch blocks and reports writes; without it, Watch must return at
	// once.
	Pushes bool
}

// Run runs the contract suite against b.
func Run(t *testing.T, b Backend) {
	h := harness{Backend: b}
	t.Run("Migrate", h.testMigrate)
	t.Run("Version", h.testVersion)
	t.Run("Accounts", h.testAccounts)
	t.Run("SignIn", h.testSignIn)
	t.Run("RotateKey", h.testRotateKey)
	t.Run("RevokeKey", h.testRevokeKey)
	t.Run("LiveKey", h.testLiveKey)
	t.Run("RecordUse", h.testRecordUse)
	t.Run("Snapshot", h.testSnapshot)
	t.Run("Events", h.testEvents)
	t.Run("PagedSnapshot", h.testPagedSnapshot)
	t.Run("PruneEvents", h.testPruneEvents)
	t.Run("PruneKeys", h.testPruneKeys)
	t.Run("ConcurrentFeed", h.testConcurrentFeed)
	t.Run("GroupCommit", h.testGroupCommit)
	t.Run("Setting", h.testSetting)
	t.Run("SpotAccounts", h.testSpotAccounts)
	t.Run("Ping", h.testPing)
	t.Run("Watch", h.testWatch)
	t.Run("Errors", h.testErrors)
	t.Run("Sessions", h.testSessions)
	t.Run("DeleteAccount", h.testDeleteAccount)
}

// Clock is a settable clock for tests; safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that reads t until it is moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// start is where every test clock starts: not UTC, and not on a whole
// microsecond, so that both conversions are checked.
var start = time.Date(2031, 3, 4, 5, 6, 7, 891234567, time.FixedZone("UTC+05:30", 5*3600+30*60))

// step is an odd clock step, again not a whole number of microseconds.
const step = time.Second + 333*time.Microsecond + 777*time.Nanosecond

type harness struct{ Backend }

// db is one database of a test, its clock and a first, migrated handle.
type db struct {
	open  Opener
	clock *Clock
	s     *store.Store
}

// fresh returns a new migrated database.
func (h harness) fresh(t testing.TB) *db {
	t.Helper()
	d := h.unmigrated(t)
	d.s = d.handle(t)
	if _, err := d.s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return d
}

// unmigrated returns a new database without opening any handle.
func (h harness) unmigrated(t testing.TB) *db {
	t.Helper()
	return &db{open: h.NewDB(t), clock: NewClock(start)}
}

// handle opens another handle on d, closed when t ends.
func (d *db) handle(t testing.TB) *store.Store {
	t.Helper()
	s := d.open(t, d.clock.Now)
	if s == nil {
		t.Fatal("the Opener returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// now is d's clock time as the store must report it.
func (d *db) now() time.Time { return stored(d.clock.Now()) }

// stored is t as a store reports it: UTC, truncated to microseconds.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// newKey returns a fresh key as a backend gets it. It is safe to call from
// any goroutine.
func newKey() store.NewKey {
	k, err := apikey.New(apikey.Live)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return store.NewKey{Hash: k.Hash(), Masked: k.Mask()}
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newWallet returns a wallet address no test used before.
func newWallet() string { return "addr_test1q" + randomHex(20) }

// newNonce returns a nonce no test used before.
func newNonce() string { return randomHex(16) }

// createAccount creates an account of a new wallet, with first as its key
// unless nil.
func createAccount(t testing.TB, s *store.Store, first *store.NewKey) store.Account {
	t.Helper()
	a, _, err := s.CreateAccount(t.Context(), newWallet(), first)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return a
}

// wantErr checks that err is want (errors.Is) and has want's kind.
func wantErr(t testing.TB, what string, err error, want *espresso.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %q", what, err, want)
		return
	}
	if k := espresso.KindOf(err); k != want.Kind {
		t.Errorf("%s: error kind %v, want %v", what, k, want.Kind)
	}
}

// wantTime checks that got is want as a store reports it.
func wantTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if want.IsZero() {
		if !got.IsZero() {
			t.Errorf("%s = %v, want the zero time", what, got)
		}
		return
	}
	if w := stored(want); !got.Equal(w) || got.Location() != time.UTC {
		t.Errorf("%s = %v, want %v (UTC, whole microseconds)", what, got, w)
	}
}

// wantKey checks every field of a key.
func wantKey(t testing.TB, what string, got, want store.Key) {
	t.Helper()
	if got.AccountID != want.AccountID {
		t.Errorf("%s: AccountID = %q, want %q", what, got.AccountID, want.AccountID)
	}
	if got.WalletAddress != want.WalletAddress {
		t.Errorf("%s: WalletAddress = %q, want its account's %q", what, got.WalletAddress, want.WalletAddress)
	}
	if got.Hash != want.Hash {
		t.Errorf("%s: Hash differs", what)
	}
	if got.Masked != want.Masked {
		t.Errorf("%s: Masked = %q, want %q", what, got.Masked, want.Masked)
	}
	wantTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
	wantTime(t, what+": LastUsedAt", got.LastUsedAt, want.LastUsedAt)
	wantTime(t, what+": RevokedAt", got.RevokedAt, want.RevokedAt)
}

// wantAccount checks every field of an account.
func wantAccount(t testing.TB, what string, got, want store.Account) {
	t.Helper()
	if got.ID != want.ID || got.WalletAddress != want.WalletAddress || got.Onboarded != want.Onboarded {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	wantTime(t, what+": CreatedAt", got.CreatedAt, want.CreatedAt)
}

// liveKeyOf is the key a NewKey becomes when issued to a at created.
func liveKeyOf(a store.Account, nk store.NewKey, created time.Time) store.Key {
	return store.Key{AccountID: a.ID, WalletAddress: a.WalletAddress, Hash: nk.Hash, Masked: nk.Masked, CreatedAt: created}
}

// wantEvents checks events against want, field by field; LastUsedAt is not
// compared (events need not carry it) and Seq is compared only when the
// wanted Seq is not zero.
func wantEvents(t testing.TB, what string, got, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events %v, want %d %v", what, len(got), describe(got), len(want), describe(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || (w.Seq != 0 && g.Seq != w.Seq) {
			t.Errorf("%s: event %d is %v, want %v", what, i, describe(got[i:i+1]), describe(want[i:i+1]))
			continue
		}
		g.Key.LastUsedAt, w.Key.LastUsedAt = time.Time{}, time.Time{}
		wantKey(t, fmt.Sprintf("%s: event %d", what, i), g.Key, w.Key)
	}
}

// describe prints events without their hashes.
func describe(events []store.Event) string {
	s := "["
	for i, e := range events {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d:%v(%s)", e.Seq, e.Kind, e.Key.Masked)
	}
	return s + "]"
}

// allEvents reads the whole feed after `after`, a page at a time.
func allEvents(t testing.TB, s *store.Store, after int64) []store.Event {
	t.Helper()
	var all []store.Event
	for {
		page, err := s.Events(t.Context(), after, 50)
		if err != nil {
			t.Fatalf("Events(%d): %v", after, err)
		}
		if len(page) == 0 {
			return all
		}
		for _, e := range page {
			if e.Seq <= after {
				t.Fatalf("Events(%d) returned seq %d", after, e.Seq)
			}
			after = e.Seq
		}
		all = append(all, page...)
	}
}

// lastSeq returns the seq of the last event in the feed, via Snapshot.
func lastSeq(t testing.TB, s *store.Store) int64 {
	t.Helper()
	_, seq, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return seq
}

// liveSet is the verification cache a node keeps: live keys by hash.
type liveSet map[apikey.Hash]store.Key

func newLiveSet(keys []store.Key) liveSet {
	m := liveSet{}
	for _, k := range keys {
		m[k.Hash] = k
	}
	return m
}

// apply applies events the way a node does.
func (m liveSet) apply(events []store.Event) {
	for _, e := range events {
		switch e.Kind {
		case store.KeyIssued:
			m[e.Key.Hash] = e.Key
		case store.KeyRevoked:
			delete(m, e.Key.Hash)
		}
	}
}

// wantSameLive checks that two live sets hold the same keys for the same
// accounts, and at most one key per account.
func wantSameLive(t testing.TB, what string, got, want liveSet) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d live keys, want %d", what, len(got), len(want))
	}
	for h, w := range want {
		g, ok := got[h]
		if !ok {
			t.Errorf("%s: live key %s of account %s is missing", what, w.Masked, w.AccountID)
		} else if g.AccountID != w.AccountID {
			t.Errorf("%s: live key %s belongs to %s, want %s", what, w.Masked, g.AccountID, w.AccountID)
		}
	}
	perAccount := map[string]int{}
	for _, k := range got {
		if perAccount[k.AccountID]++; perAccount[k.AccountID] > 1 {
			t.Errorf("%s: account %s has more than one live key", what, k.AccountID)
		}
	}
}

// race runs n calls of f concurrently, released together, call i on
// handles[i%len(handles)], and waits for them.
func race(n int, handles []*store.Store, f func(i int, s *store.Store)) {
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-ready
			f(i, handles[i%len(handles)])
		})
	}
	close(ready)
	wg.Wait()
}
