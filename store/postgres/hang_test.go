package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// TestHang_EveryMethodFailsUnavailableWithinFiveSeconds_WhenTheDatabaseStopsAnswering
// puts a proxy between the store and the database that, once stalled,
// accepts connections and bytes but forwards nothing (a dead route, a frozen
// server): every method must still fail within unavailableWithin, and the
// store work again once the proxy forwards again.
func TestHang_EveryMethodFailsUnavailableWithinFiveSeconds_WhenTheDatabaseStopsAnswering(t *testing.T) {
	t.Parallel()
	direct := pgtest.URL(t)
	u, err := url.Parse(direct)
	if err != nil || u.Host == "" {
		t.Skipf("%s is not a postgres:// URL with a host; cannot put a proxy in front of it", os.Getenv(pgtest.EnvURL))
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr()
	s := migrated(t, u.String())
	first := newKey(t)
	acct, _, err := s.CreateAccount(t.Context(), "addr_test1hang", &first)
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if _, _, err := s.Snapshot(t.Context()); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}

	p.stall()
	calls := map[string]func(ctx context.Context) error{
		"RotateKey": func(ctx context.Context) error {
			_, _, err := s.RotateKey(ctx, acct.ID, &first.Hash, newKey(t))
			return err
		},
		"Snapshot": func(ctx context.Context) error { _, _, err := s.Snapshot(ctx); return err },
		"Events":   func(ctx context.Context) error { _, err := s.Events(ctx, 0, 100); return err },
		"Ping":     s.Ping,
		"Migrate":  func(ctx context.Context) error { _, err := s.Migrate(ctx); return err },
		"Version":  func(ctx context.Context) error { _, err := s.Version(ctx); return err },
		"CreateAccount": func(ctx context.Context) error {
			_, _, err := s.CreateAccount(ctx, "addr_test1other", nil)
			return err
		},
		"AccountByWallet": func(ctx context.Context) error { _, err := s.AccountByWallet(ctx, acct.WalletAddress); return err },
		"AccountByID":     func(ctx context.Context) error { _, err := s.AccountByID(ctx, acct.ID); return err },
		"SignIn": func(ctx context.Context) error {
			_, _, err := s.SignIn(ctx, acct.WalletAddress, "nonce", time.Now().Add(time.Minute), nil)
			return err
		},
		"RevokeKey":   func(ctx context.Context) error { _, _, err := s.RevokeKey(ctx, acct.ID, nil); return err },
		"LiveKey":     func(ctx context.Context) error { _, err := s.LiveKey(ctx, acct.ID); return err },
		"PruneEvents": func(ctx context.Context) error { _, err := s.PruneEvents(ctx, time.Now()); return err },
		"RecordUse": func(ctx context.Context) error {
			return s.RecordUse(ctx, map[apikey.Hash]time.Time{first.Hash: time.Now()})
		},
		"PruneNonces": func(ctx context.Context) error { _, err := s.PruneNonces(ctx, time.Now()); return err },
		"Setting": func(ctx context.Context) error {
			_, err := s.Setting(ctx, "jwt-secret", func() ([]byte, error) { return []byte("x"), nil })
			return err
		},
	}
	// All at once: each may take the whole timeout.
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Go(func() {
			began := time.Now()
			err := call(t.Context())
			took := time.Since(began)
			if k := espresso.KindOf(err); k != espresso.Unavailable {
				t.Errorf("%s with the database silent: error %v (kind %v), want kind unavailable", name, err, k)
			}
			if took >= unavailableWithin {
				t.Errorf("%s with the database silent took %v to fail, want under %v", name, took, unavailableWithin)
			}
			t.Logf("%s failed in %v: %v", name, took.Round(time.Millisecond), err)
		})
	}
	wg.Wait()

	p.resume()
	deadline := time.Now().Add(30 * time.Second)
	for err := s.Ping(t.Context()); err != nil; err = s.Ping(t.Context()) {
		if time.Now().After(deadline) {
			t.Fatalf("Ping still fails 30s after the proxy forwards again: %v", err)
		}
	}
	if _, _, err := s.RotateKey(t.Context(), acct.ID, nil, newKey(t)); err != nil {
		t.Fatalf("RotateKey once the proxy forwards again: %v", err)
	}
}

// proxy forwards TCP connections to a server, and can stall: while stalled
// it accepts connections and reads bytes but forwards nothing, either way.
type proxy struct {
	l        net.Listener
	upstream string

	mu     sync.Mutex
	open   chan struct{} // closed while forwarding; replaced to stall
	conns  []net.Conn
	closed bool
}

// startProxy listens on 127.0.0.1 and forwards to upstream until the test
// ends.
func startProxy(t testing.TB, upstream string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, upstream: upstream, open: make(chan struct{})}
	close(p.open)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		p.mu.Lock()
		p.closed = true
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.resume()
	})
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

// stall stops forwarding.
func (p *proxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// resume forwards again, what was held included.
func (p *proxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// gate returns a channel that is closed while the proxy forwards.
func (p *proxy) gate() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

// track records c to close at the end; false if the proxy is closed.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *proxy) handle(c net.Conn) {
	if !p.track(c) {
		return
	}
	<-p.gate() // a stalled proxy does not even dial
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		_ = c.Close()
		return
	}
	if !p.track(u) {
		_ = c.Close()
		return
	}
	go p.pipe(u, c)
	p.pipe(c, u)
}

// pipe copies src to dst, holding what it read while the proxy is stalled.
func (p *proxy) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		<-p.gate()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = src.Close()
			}
			return
		}
	}
}
