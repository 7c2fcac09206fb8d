package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client is whom a budget is kept for: an IPv4 address, or the /64 of an
// IPv6 address (a single IPv6 host usually holds a whole /64, and would
// otherwise get a fresh budget with every address it picks). The zero
// Client stands for every request whose address cannot be read.
type Client struct{ p netip.Prefix }

// ClientFor returns the Client of ip.
func ClientFor(ip netip.Addr) Client {
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits) // an invalid ip gives the zero Prefix
	return Client{p}
}

// String is the address (IPv4) or the /64 (IPv6), as logs show it.
func (c Client) String() string {
	if !c.p.IsValid() {
		return "unknown"
	}
	if c.p.Addr().Is4() {
		return c.p.Addr().String()
	}
	return c.p.String()
}

// IP returns the address a request comes from: its TCP peer, or, when the
// peer is one of the trusted proxies, the right-most address of
// X-Forwarded-For that is not a trusted proxy (the entries left of it are
// whatever the client chose to send). An X-Forwarded-For hop that cannot be
// parsed ends the walk at the last trusted hop. The zero Addr means the
// peer's address cannot be read. It does not allocate.
func IP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := r.Header["X-Forwarded-For"]
	for i := len(hops) - 1; i >= 0; i-- {
		v := hops[i]
		for v != "" {
			hop := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				hop, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return peer
			}
			a = a.Unmap()
			if !isTrusted(a, trusted) {
				return a
			}
			peer = a
		}
	}
	return peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
