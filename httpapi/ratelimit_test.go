package httpapi

import (
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestClientIP_BelievesXForwardedForOnlyFromTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		remote, xff, want string
	}{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},                  // untrusted peer: its header is ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},                    // trusted proxy
		{"10.1.2.3:5000", "1.1.1.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // right-most untrusted hop
		{"10.1.2.3:5000", "", "10.1.2.3"},                                    // proxy without header
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},                             // unparsable hop
		{"[::1]:5000", "2001:db8::1", "2001:db8::1"},
		{"[::ffff:10.1.2.3]:5000", "198.51.100.9", "198.51.100.9"}, // v4-mapped peer
	} {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientIP(r, trusted); got != c.want {
			t.Errorf("clientIP(%s, XFF %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestRateLimiter_RefillsOverTimeAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(60, func() time.Time { return now })
	for i := range 60 {
		if !l.allow("a") {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.allow("a") {
		t.Fatal("request beyond the burst allowed")
	}
	if !l.allow("b") {
		t.Fatal("another client shares the first one's budget")
	}
	now = now.Add(time.Second) // 60 a minute: one more token
	if !l.allow("a") || l.allow("a") {
		t.Error("one second did not refill exactly one token")
	}
	now = now.Add(-time.Hour) // the clock steps back: no refill, no debt
	if l.allow("a") {
		t.Error("a backwards clock refilled the bucket")
	}
	l.maxClients = 100
	for i := range 1000 {
		l.allow(strconv.Itoa(i))
	}
	if len(l.buckets) > 100 {
		t.Errorf("%d buckets kept, want at most 100", len(l.buckets))
	}
}
