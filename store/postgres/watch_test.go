package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

func TestWatch_AWriteOnOneHandleWakesAnothersWatch_AndAKilledListenerReconnects(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	a := migrated(t, url)
	b, bd := openDriver(t, url, Options{})
	w := watch(t, b)
	w.want(t, "when it first listens", true)

	acct, _, err := a.CreateAccount(t.Context(), "addr_test1watch", ptr(newKey(t)))
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	w.want(t, "after a write on another handle", false)

	pid := bd.listenerPID.Load()
	if pid == 0 {
		t.Fatal("Watch recorded no listener PID")
	}
	terminate(t, url, pid)
	w.want(t, "after its listening backend was terminated", true)
	if bd.listenerPID.Load() == pid {
		t.Errorf("Watch listens on backend %d again, the one that was terminated", pid)
	}

	if _, _, err := a.RotateKey(t.Context(), acct.ID, nil, newKey(t)); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	w.want(t, "after a write once it reconnected", false)
}

// watcher records what a Watch reports.
type watcher struct {
	reports  chan bool
	returned chan struct{}
}

// watch runs s.Watch until the test ends, recording its reports.
func watch(t testing.TB, s *store.Store) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{reports: make(chan bool, 1024), returned: make(chan struct{})}
	var mu sync.Mutex
	go func() {
		defer close(w.returned)
		s.Watch(ctx, func(missed bool) {
			if !mu.TryLock() {
				t.Error("Watch called notify concurrently with itself")
				return
			}
			defer mu.Unlock()
			select {
			case w.reports <- missed:
			default:
				t.Error("more than 1024 unread Watch reports")
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-w.returned
	})
	return w
}

// want waits up to 30s for Watch to report missed, skipping other reports.
func (w *watcher) want(t testing.TB, when string, missed bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-w.reports:
			if got == missed {
				return
			}
			t.Logf("%s: Watch reported notify(%v) while we wait for notify(%v)", when, got, missed)
		case <-w.returned:
			t.Fatalf("%s: Watch returned", when)
		case <-deadline:
			t.Fatalf("%s: Watch did not report notify(%v) within 30s", when, missed)
		}
	}
}

// terminate ends backend pid from a connection of its own.
func terminate(t testing.TB, url string, pid uint32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting to terminate backend %d: %v", pid, err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

// newKey returns a fresh key as a backend gets it.
func newKey(t testing.TB) store.NewKey {
	t.Helper()
	k, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	return store.NewKey{Hash: k.Hash(), Masked: k.Mask()}
}

func ptr[T any](v T) *T { return &v }
