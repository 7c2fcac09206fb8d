package httpapi

import (
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestServer_WarnsOnceOfAnUntrustedProxy: behind a proxy nobody told it
// about, every client would share the proxy's budget; the server says so
// once, and never for a public client that sends X-Forwarded-For itself,
// nor when a proxy is trusted.
func TestServer_WarnsOnceOfAnUntrustedProxy(t *testing.T) {
	e := newTestEnv(t)
	const warning = "no proxy is trusted"
	serve := func(trusted []netip.Prefix, requests ...[2]string) string {
		t.Helper()
		logs := &syncBuffer{}
		d := e.deps
		d.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		d.TrustedProxies = trusted
		h := NewServer(d)
		for _, rq := range requests {
			for _, path := range []string{"/healthz", "/auth/verify"} {
				req := httptest.NewRequest("GET", path, nil)
				req.RemoteAddr = rq[0]
				if rq[1] != "" {
					req.Header.Set("X-Forwarded-For", rq[1])
				}
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		}
		return logs.String()
	}

	if logs := serve(nil, [2]string{"203.0.113.9:5000", "198.51.100.1"}, [2]string{"127.0.0.1:5000", ""}); strings.Contains(logs, warning) {
		t.Errorf("a public client's own X-Forwarded-For, or a local request without one, warned:\n%s", logs)
	}
	for peer, ip := range map[string]string{"127.0.0.1:5000": "127.0.0.1", "[::1]:5000": "::1",
		"10.1.2.3:5000": "10.1.2.3", "[::ffff:192.168.1.4]:5000": "192.168.1.4"} {
		logs := serve(nil, [2]string{peer, "198.51.100.1"}, [2]string{peer, "198.51.100.2"})
		if n := strings.Count(logs, warning); n != 1 {
			t.Errorf("requests through an untrusted proxy at %s warned %d times, want once:\n%s", peer, n, logs)
			continue
		}
		line := logs[strings.Index(logs, warning):]
		if line = line[:strings.IndexByte(line, '\n')]; !strings.Contains(line, `"peer":"`+ip+`"`) {
			t.Errorf("the warning does not name the proxy %s: %s", ip, line)
		}
	}
	if logs := serve([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, [2]string{"10.1.2.3:5000", "198.51.100.1"}); strings.Contains(logs, warning) {
		t.Errorf("a trusted proxy warned:\n%s", logs)
	}
}
