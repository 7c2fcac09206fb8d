package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/wallet"
)

// config is every setting of every command. Commands register the flags
// they use; each flag's ESPRESSO_* variable supplies its value when the flag
// is not given. Secrets (the JWT secret) come only from the environment, and
// nothing here is ever printed whole: DatabaseURL may hold a password.
type config struct {
	Addr           string
	Data           string
	DatabaseURL    string
	Network        string
	PublicURL      string
	JWTTTL         time.Duration
	MaxStaleness   time.Duration
	LogLevel       string
	SignInRate     int
	TrustedProxies string
}

// storeFlags are the flags of every command that opens the database.
func (c *config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", "./espresso-data", "directory of the embedded database (ignored with --database-url)")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://…); empty: the embedded database")
	fs.StringVar(&c.Network, "network", "mainnet", "Cardano network: mainnet (dk_live_ keys) or testnet (dk_test_ keys)")
}

func (c *config) serveFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to serve HTTP on")
	fs.StringVar(&c.PublicURL, "public-url", "http://127.0.0.1:8080", "the server's public origin, written into sign-in messages")
	fs.DurationVar(&c.JWTTTL, "jwt-ttl", time.Hour, "lifetime of sign-in tokens")
	fs.DurationVar(&c.MaxStaleness, "max-staleness", 30*time.Second, "how long keys keep verifying from memory while the database is unreachable")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&c.SignInRate, "signin-rate", 30, "sign-in challenges (and, separately, sign-ins) a client IP may request a minute")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client")
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
				return nil, fmt.Errorf("%w: --trusted-proxies: %q is not a CIDR or an address", errUsage, s)
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
	return 0, 0, fmt.Errorf("%w: --network must be mainnet or testnet, not %q", errUsage, c.Network)
}

// envName is the variable that stands in for a flag.
func envName(flagName string) string {
	return "ESPRESSO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("espresso "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage of espresso %s:\n", name)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s (%s, default %q)\n      %s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}
	return fs
}

// parseFlags parses args, then fills every flag that was not given from its
// environment variable, with the same validation.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%w: %s: %v", errUsage, envName(f.Name), e)
			}
		}
	})
	return err
}
