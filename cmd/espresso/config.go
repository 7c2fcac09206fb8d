package main

import (
	"errors"
	"flag"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/wallet"
)

// config is every setting of every command. Commands register the flags
// they use; each flag's ESPRESSO_* variable supplies its value when the flag
// is not given. Secrets (the JWT secret) come only from the environment, and
// nothing here is ever printed whole: DatabaseURL may hold a password.
type config struct {
	Addr               string
	Data               string
	DatabaseURL        string
	Network            string
	PublicURL          string
	JWTTTL             time.Duration
	SessionMaxLifetime time.Duration
	MaxStaleness       time.Duration
	LogLevel           string
	SignInRate         int
	FailureRate        int
	FailureBurst       int
	FailureDelay       time.Duration
	TrustedProxies     string
	MetricsAddr        string
	EventRetention     time.Duration
	PruneInterval      time.Duration
}

// storeFlags are the flags of every command that opens the database.
func (c *config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", "./espresso-data", "`directory` of the embedded database (ignored with --database-url)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL `URL` (postgres://…); empty: the embedded database")
	fs.StringVar(&c.Network, "network", "mainnet", "Cardano `network`: mainnet (dk_live_ keys) or testnet (dk_test_ keys)")
}

func (c *config) serveFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "`host:port` to serve HTTP on")
	fs.StringVar(&c.PublicURL, "public-url", "", "the server's public `origin`, written into sign-in messages; set it to what users'\n"+
		"browsers see. Default: http:// and --addr (its port, and localhost for an address\n"+
		"without a host, such as :8080 or 0.0.0.0:8080)")
	durationFlag(fs, &c.JWTTTL, "jwt-ttl", time.Hour, "how long sign-in tokens last (a `duration`, e.g. 1h)")
	durationFlag(fs, &c.SessionMaxLifetime, "session-max-lifetime", 24*time.Hour, "the longest a sign-in session lives, whatever its token says (a `duration`);\n"+
		"lowering it also cuts sessions already started")
	durationFlag(fs, &c.MaxStaleness, "max-staleness", 30*time.Second, "how long keys keep verifying from memory while the database is unreachable\n(a `duration`, e.g. 30s)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "`level` of logging: debug, info, warn or error")
	positiveIntFlag(fs, &c.SignInRate, "signin-rate", 30, "`number` of sign-in challenges (and, separately, sign-ins) a client (an IPv4 address or\nan IPv6 /64) may request a minute")
	positiveIntFlag(fs, &c.FailureRate, "auth-failure-rate", 20, "`number` of refused credentials a minute a client may have; past its burst it gets 429")
	positiveIntFlag(fs, &c.FailureBurst, "auth-failure-burst", 20, "`number` of refused credentials a client may have at once, before --auth-failure-rate applies")
	fs.DurationVar(&c.FailureDelay, "auth-failure-delay", time.Second, "the longest a 429 for a spent budget is held before it is sent (a `duration`;\n"+
		"0 sends it at once): a flood then gets one answer per connection per delay")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated `list` of the CIDRs of reverse proxies whose X-Forwarded-For names the client")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "`host:port` to serve Prometheus metrics (GET /metrics) and Go's profiles\n"+
		"(/debug/pprof/) on, apart from --addr; keep it internal. Empty: no metrics listener")
	durationFlag(fs, &c.EventRetention, "event-retention", 24*time.Hour, "how long key events are kept for replicas that fall behind (a `duration`)")
	durationFlag(fs, &c.PruneInterval, "prune-interval", time.Hour, "how often old key events and expired sign-in nonces are deleted (a `duration`)")
}

// trustedProxies parses --trusted-proxies.
func (c *config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return nil, usagef("--trusted-proxies: %q is not a CIDR or an address", s)
			}
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// networks returns the configured network as each package names it.
func (c *config) networks() (wallet.Network, apikey.Env, error) {
	switch c.Network {
	case "mainnet":
		return wallet.Mainnet, apikey.Live, nil
	case "testnet":
		return wallet.Testnet, apikey.Test, nil
	}
	return 0, 0, usagef("--network: must be mainnet or testnet, not %q", c.Network)
}

// checkServe checks the settings of serve that the flag types do not, and
// that need no database: the listen address's form, the public URL and the
// token secret from the environment. serve runs it before it binds the
// address or opens the database, so that a mistake changes nothing.
func (c *config) checkServe(getenv func(string) string) error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return usagef("--addr: %q is not host:port", c.Addr)
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); c.MetricsAddr != "" && err != nil {
		return usagef("--metrics-addr: %q is not host:port", c.MetricsAddr)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return usagef("--public-url: %q is not an absolute http(s) URL such as https://api.example.com", c.PublicURL)
		}
	}
	// sessions knows what a secret must be; the message must not repeat
	// the secret.
	if secret := getenv("ESPRESSO_JWT_SECRET"); secret != "" {
		switch err := sessions.CheckSecret([]byte(secret)); {
		case errors.Is(err, sessions.ErrShortSecret):
			return usagef("ESPRESSO_JWT_SECRET: must be at least %d bytes", sessions.MinSecretLen)
		case err != nil:
			return usagef("ESPRESSO_JWT_SECRET: refused: %s", strings.TrimPrefix(err.Error(), "sessions: "))
		}
	}
	return nil
}

// defaultPublicURL is --public-url when it is not given: http:// and the
// address serve was asked to listen on, with the port it got (so that :0
// works) and localhost for a wildcard host, which no browser can use.
func defaultPublicURL(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(bound.String())
	return "http://" + net.JoinHostPort(host, port)
}
