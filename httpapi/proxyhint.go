package httpapi

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/espresso-auth/espresso/ratelimit"
)

// proxyHint warns, once, that the server seems to run behind a reverse
// proxy that is not among the trusted ones: a request carries
// X-Forwarded-For and comes from a loopback or private address, where
// proxies sit and internet clients cannot. Every client behind such a
// proxy then shares the proxy's one budget of refused credentials and
// sign-ins, and the logs name the proxy instead of the clients. It is
// armed only when no proxy is trusted at all; a client that sends the
// header itself from a public address never triggers it.
type proxyHint struct {
	log    *slog.Logger
	warned atomic.Bool
}

func (p *proxyHint) check(r *http.Request) {
	if p.warned.Load() || r.Header["X-Forwarded-For"] == nil {
		return
	}
	// With no proxy trusted, the client's address is the TCP peer's.
	peer := ratelimit.IP(r, nil)
	if !peer.IsLoopback() && !peer.IsPrivate() {
		return
	}
	if p.warned.CompareAndSwap(false, true) {
		p.log.Warn("a request came through a proxy (X-Forwarded-For from a loopback or private address), but no proxy is trusted "+
			"(serve --trusted-proxies): every client behind it shares one rate-limit budget and the logs name the proxy; said once",
			"peer", peer.String())
	}
}
