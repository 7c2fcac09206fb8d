package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
)

func TestIP_BelievesXForwardedForOnlyFromTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.7:5000", nil, "203.0.113.7"},
		{"203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},                   // untrusted peer: its header is ignored
		{"10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},                     // trusted proxy
		{"10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},  // right-most untrusted hop
		{"10.1.2.3:5000", []string{"1.1.1.1", "198.51.100.1,10.9.9.9"}, "198.51.100.1"}, // over two header lines
		{"10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"10.1.2.3:5000", nil, "10.1.2.3"},                                         // proxy without header
		{"10.1.2.3:5000", []string{"garbage"}, "10.1.2.3"},                         // unparsable hop
		{"10.1.2.3:5000", []string{"198.51.100.1, garbage, 10.9.9.9"}, "10.9.9.9"}, // the walk stops at it
		{"[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"[::ffff:10.1.2.3]:5000", []string{"198.51.100.9"}, "198.51.100.9"}, // v4-mapped peer
		{"pipe", nil, "invalid IP"},
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != nil {
			r.Header["X-Forwarded-For"] = c.xff
		}
		if got := IP(r, trusted).String(); got != c.want {
			t.Errorf("IP(%s, XFF %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestIP_AllocatesNothing(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r := &http.Request{RemoteAddr: "10.1.2.3:5000", Header: http.Header{"X-Forwarded-For": {"1.1.1.1, 2001:db8::7, 10.9.9.9"}}}
	if n := testing.AllocsPerRun(100, func() { IP(r, trusted) }); n != 0 {
		t.Errorf("IP allocates %v times", n)
	}
}

func TestClientFor_AnIPv6ClientIsItsSlash64(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
		{"203.0.113.7", "::ffff:203.0.113.7"},
	} {
		if ClientFor(netip.MustParseAddr(c.a)) != ClientFor(netip.MustParseAddr(c.b)) {
			t.Errorf("%s and %s are different clients", c.a, c.b)
		}
	}
	for _, c := range []struct{ a, b string }{
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"203.0.113.7", "203.0.113.8"},
	} {
		if ClientFor(netip.MustParseAddr(c.a)) == ClientFor(netip.MustParseAddr(c.b)) {
			t.Errorf("%s and %s are one client", c.a, c.b)
		}
	}
	if got := ClientFor(netip.MustParseAddr("2001:db8:1:2::1")).String(); got != "2001:db8:1:2::/64" {
		t.Errorf("an IPv6 client shows as %s", got)
	}
}

// fakeClock is a settable time.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestBucket_RefillsOverTimeAndStaysBounded(t *testing.T) {
	clk := newClock()
	b := newBucket(Rate{60, 60}, 100, clk.Now())
	a, other := ClientFor(netip.MustParseAddr("192.0.2.1")), ClientFor(netip.MustParseAddr("192.0.2.2"))
	for i := range 60 {
		if ok, _ := b.take(a, clk.Now()); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if ok, wait := b.take(a, clk.Now()); ok || wait != time.Second {
		t.Fatalf("beyond the burst: allowed %v, wait %v; want refused, 1s", ok, wait)
	}
	if ok, _ := b.take(other, clk.Now()); !ok {
		t.Fatal("another client shares the first one's budget")
	}
	clk.Advance(time.Second) // 60 a minute: one more token
	if ok, _ := b.take(a, clk.Now()); !ok {
		t.Fatal("one second refilled nothing")
	}
	if ok, _ := b.take(a, clk.Now()); ok {
		t.Fatal("one second refilled more than one token")
	}
	clk.Advance(-time.Hour) // a clock stepping back charges nothing
	if ok, _ := b.take(a, clk.Now()); !ok {
		t.Error("a backwards clock emptied the bucket")
	}
	for i := range 1000 {
		b.take(ClientFor(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})), clk.Now())
	}
	if len(b.tat) > 100 {
		t.Errorf("%d buckets kept, want at most 100", len(b.tat))
	}
	clk.Advance(2 * time.Minute)
	b.sweep(clk.Now())
	if len(b.tat) != 0 || b.n.Load() != 0 {
		t.Errorf("%d full buckets kept after a sweep", len(b.tat))
	}
}

func TestThrottle_RefusesPastTheBudgetAndSparesOtherClients(t *testing.T) {
	clk := newClock()
	l := New(Config{Failures: Rate{PerMinute: 6, Burst: 3}, Now: clk.Now})
	ctx := context.Background()
	bad, good := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("198.51.100.7")
	if err := l.Failures.Check(bad); err != nil {
		t.Fatalf("a client with no failures is refused: %v", err)
	}
	for i := range 3 {
		if err := l.Failures.Fail(ctx, bad); err != nil {
			t.Fatalf("failure %d of the burst: %v", i, err)
		}
	}
	// Another address of the same /64 is the same client.
	err := l.Failures.Check(netip.MustParseAddr("2001:db8::2"))
	var refused *Refused
	if !errors.As(err, &refused) || !errors.Is(err, espresso.ErrRateLimited) || refused.RetryAfter() != 10 {
		t.Fatalf("past the burst: %v, want refused for 10 s", err)
	}
	if err := l.Failures.Check(good); err != nil {
		t.Errorf("another client is refused: %v", err)
	}
	clk.Advance(10 * time.Second)
	if err := l.Failures.Check(bad); err != nil {
		t.Errorf("a token later: %v", err)
	}
}

func TestThrottle_CheckAllocatesNothing(t *testing.T) {
	l := New(Config{})
	ip, other := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("203.0.113.1")
	if n := testing.AllocsPerRun(100, func() { _ = l.Failures.Check(ip) }); n != 0 {
		t.Errorf("Check allocates %v times with no failures", n)
	}
	_ = l.Failures.Fail(context.Background(), other)
	if n := testing.AllocsPerRun(100, func() { _ = l.Failures.Check(ip) }); n != 0 {
		t.Errorf("Check allocates %v times while another client pays", n)
	}
}

// sharedBucket is a Shared store in memory: what several nodes' Limits
// share, as PostgreSQL's table does (store/postgres tests that one).
type sharedBucket struct {
	mu    sync.Mutex
	b     map[string]*bucket
	clk   *fakeClock
	fail  bool
	calls int
}

func (s *sharedBucket) TakeToken(_ context.Context, scope, client string, every time.Duration, burst int) (bool, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail {
		return false, 0, errors.New("connection refused")
	}
	if s.b[scope] == nil {
		s.b[scope] = newBucket(Rate{int(time.Minute / every), burst}, 100, s.clk.Now())
	}
	ok, wait := s.b[scope].take(ClientFor(netip.MustParsePrefix(client+"/32").Addr()), s.clk.Now())
	return ok, wait, nil
}

func (s *sharedBucket) SweepTokens(context.Context) error { return nil }

func TestLimiter_TwoNodesSharingABucketGiveTheBudgetOnce(t *testing.T) {
	clk := newClock()
	shared := &sharedBucket{b: map[string]*bucket{}, clk: clk}
	a := New(Config{Failures: Rate{60, 10}, SignIn: Rate{60, 10}, Shared: shared, Now: clk.Now})
	b := New(Config{Failures: Rate{60, 10}, SignIn: Rate{60, 10}, Shared: shared, Now: clk.Now})
	ctx, ip := context.Background(), netip.MustParseAddr("203.0.113.9")
	failed := 0
	for i := range 40 { // alternating between the nodes, as the client likes
		node := []*Limits{a, b}[i%2]
		if node.Failures.Check(ip) != nil {
			continue
		}
		if node.Failures.Fail(ctx, ip) == nil {
			failed++ // answered 401
		}
	}
	if failed != 10 {
		t.Errorf("%d failures answered as such over two nodes, want the budget: 10", failed)
	}
	allowed := 0
	for i := range 40 {
		if []*Limits{a, b}[i%2].Challenge.Allow(ctx, ip) == nil {
			allowed++
		}
	}
	if allowed != 10 {
		t.Errorf("%d challenges allowed over two nodes, want 10", allowed)
	}
}

func TestLimiter_FailsOpenToTheNodesBudgetWhileTheSharedStoreFails(t *testing.T) {
	clk := newClock()
	shared := &sharedBucket{b: map[string]*bucket{}, clk: clk, fail: true}
	var logs bytes.Buffer
	l := New(Config{SignIn: Rate{60, 5}, Shared: shared, Now: clk.Now, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	ctx, ip := context.Background(), netip.MustParseAddr("203.0.113.9")
	allowed := 0
	for range 20 {
		if l.SignIn.Allow(ctx, ip) == nil {
			allowed++
		}
	}
	if allowed != 5 {
		t.Errorf("%d allowed while the shared store fails, want the node's budget: 5", allowed)
	}
	if shared.calls != 1 {
		t.Errorf("the failing store was asked %d times, want once per pause", shared.calls)
	}
	if n := strings.Count(logs.String(), "shared rate limits unavailable"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, logs.String())
	}
	shared.mu.Lock()
	shared.fail = false
	shared.mu.Unlock()
	clk.Advance(sharedPause + time.Second)
	if err := l.SignIn.Allow(ctx, netip.MustParseAddr("203.0.113.10")); err != nil || shared.calls != 2 {
		t.Errorf("after the pause: %v, %d calls", err, shared.calls)
	}
	if !strings.Contains(logs.String(), "shared rate limits available again") {
		t.Error("the recovery was not logged")
	}
}

func TestTally_OneLinePerClientPerIntervalWithCounts(t *testing.T) {
	var logs bytes.Buffer
	tl := newTally(slog.New(slog.NewJSONHandler(&logs, nil)), 10*time.Second, 3)
	flood, v6 := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::1")
	for range 10_000 {
		tl.Failed(flood)
	}
	for range 500 {
		tl.Throttled(flood)
	}
	tl.Failed(v6)
	tl.Failed(netip.MustParseAddr("2001:db8::2"))
	for i := range 50 { // more clients than it remembers
		tl.Failed(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	tl.flush()
	tl.flush() // an interval without refusals writes nothing
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	got := map[string][2]float64{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		got[m["client"].(string)] = [2]float64{m["failed"].(float64), m["throttled"].(float64)}
	}
	want := map[string][2]float64{"203.0.113.9": {10_000, 500}, "2001:db8::/64": {2, 0}, "10.0.0.0": {1, 0}, "others": {49, 0}}
	if len(lines) != 4 || len(got) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), logs.String())
	}
	for c, w := range want {
		if got[c] != w {
			t.Errorf("client %s: %v, want %v", c, got[c], w)
		}
	}
}

func TestRun_WritesTheLastIntervalWhenItEnds(t *testing.T) {
	var logs syncBuffer
	l := New(Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), LogInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	l.Log.Failed(netip.MustParseAddr("203.0.113.9"))
	cancel()
	<-done
	if !strings.Contains(logs.String(), `"client":"203.0.113.9","failed":1`) {
		t.Errorf("the last interval was not written: %s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestHold_HoldsARefusalUpToTheDelayAndNothingElse(t *testing.T) {
	l := New(Config{Delay: 50 * time.Millisecond})
	start := time.Now()
	l.Hold(context.Background(), &Refused{Wait: time.Hour})
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("a refusal was held %v, want the delay: 50ms", took)
	}
	// What returns at once must not wait on a timer at all: a context that
	// never ends would hang the test if it did.
	l.Hold(context.Background(), espresso.ErrUnauthorized)
	New(Config{}).Hold(context.Background(), &Refused{Wait: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	New(Config{Delay: time.Hour}).Hold(ctx, &Refused{Wait: time.Hour}) // an ended request is not held
	full := New(Config{Delay: time.Hour})
	full.held.Store(MaxHeld)
	full.Hold(context.Background(), &Refused{Wait: time.Hour}) // past MaxHeld: at once
}
