// Package forwardauth is net/http middleware for the other Go services of
// the trading API: it asks a remote espresso's forward-auth check
// (/auth/verify) about every request, lets through only those whose API key
// or sign-in token is valid, and puts the account they belong to in the
// request's context.
//
// It caches nothing: every request is asked about, so a key revoked on any
// espresso node is refused within espresso's own revocation bound, never
// later. The check is cheap (espresso answers it from memory, in a few
// microseconds) and the Client keeps its connections alive.
//
// A refusal is espresso's own answer, passed through as it came (401 4010,
// 429 4290 with Retry-After, 503 5001), so clients see the platform's error
// format. When espresso cannot be reached or does not answer in time, the
// middleware answers 503 with the platform's code 5001 itself.
package forwardauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// The headers espresso answers a valid check with. The middleware also sets
// them on the request it passes on, replacing any the client sent, for
// handlers (or upstreams) that read headers rather than the context.
const (
	HeaderAccountID  = "X-Espresso-Account-Id"
	HeaderWallet     = "X-Espresso-Wallet-Address"
	HeaderCredential = "X-Espresso-Credential"
)

// Account is whose credentials a request carried, as espresso verified them.
type Account struct {
	ID     string // the account's id
	Wallet string // its Cardano wallet address (bech32)
	// Credential is what authenticated the request: "key" (an API key,
	// alone or with a token of the same account) or "token" (a sign-in
	// token alone).
	Credential string
}

type accountKey struct{}

// FromContext returns the account the middleware put in ctx, if any.
func FromContext(ctx context.Context) (Account, bool) {
	a, ok := ctx.Value(accountKey{}).(Account)
	return a, ok
}

// NewContext returns ctx carrying a, as the middleware does: for tests of
// handlers that sit behind it.
func NewContext(ctx context.Context, a Account) context.Context {
	return context.WithValue(ctx, accountKey{}, a)
}

// Options configure a Client. Only URL is required.
type Options struct {
	// URL is espresso's base URL, e.g. "http://espresso.internal:8080"
	// (the check is URL + "/auth/verify"). Several nodes: put them behind
	// one address (a load balancer, a DNS name).
	URL string
	// Timeout bounds one check, connection included; default 2 s. A check
	// that runs out is answered 503.
	Timeout time.Duration
	// HTTPClient, if set, is used instead of the Client's own (which keeps
	// up to 64 idle connections to espresso). Its Timeout, if any, applies
	// as well.
	HTTPClient *http.Client
}

// Client asks one espresso about requests. It is safe for concurrent use;
// make one per espresso and share it.
type Client struct {
	verifyURL string
	timeout   time.Duration
	http      *http.Client
}

// New returns a Client for the espresso at opts.URL. It does no I/O.
func New(opts Options) (*Client, error) {
	base := strings.TrimRight(opts.URL, "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("forwardauth: URL %q is not an http(s) URL", opts.URL)
	}
	c := &Client{verifyURL: base + "/auth/verify", timeout: opts.Timeout, http: opts.HTTPClient}
	if c.timeout <= 0 {
		c.timeout = 2 * time.Second
	}
	if c.http == nil {
		c.http = &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second, // under espresso's 2 min
			ResponseHeaderTimeout: c.timeout,
		}}
	}
	return c, nil
}

// Refusal is espresso's answer to a check that did not pass: its status,
// headers and body, to be passed to the client as they came.
type Refusal struct {
	Status int
	Header http.Header // Content-Type, Cache-Control and Retry-After, if espresso sent them
	Body   []byte
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("forwardauth: espresso refused the credentials (%d)", r.Status)
}

// ErrUnavailable is returned by Verify when espresso could not be asked
// (unreachable, too slow, or an answer that is not espresso's).
var ErrUnavailable = errors.New("forwardauth: espresso is unavailable")

// Verify asks espresso whether the credentials of the request described by
// header (X-API-KEY and Authorization are sent on; every value, so that a
// repeated header is refused as espresso refuses it) are valid, and whose
// they are. clientIP, if not empty, is sent as X-Forwarded-For, for
// espresso's per-client limits (list this service in its
// --trusted-proxies). Errors: a *Refusal, or ErrUnavailable (wrapped).
func (c *Client) Verify(ctx context.Context, header http.Header, clientIP string) (Account, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.verifyURL, nil)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for _, name := range []string{"X-Api-Key", "Authorization"} {
		if vs := header.Values(name); len(vs) > 0 {
			req.Header[name] = vs
		}
	}
	if clientIP != "" {
		req.Header.Set("X-Forwarded-For", clientIP)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	// Read the (empty, or small JSON) body whole, so the connection is
	// reused; an answer over 16 KiB is not espresso's.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	if err != nil {
		return Account{}, fmt.Errorf("%w: reading the answer: %v", ErrUnavailable, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		a := Account{ID: resp.Header.Get(HeaderAccountID), Wallet: resp.Header.Get(HeaderWallet),
			Credential: resp.Header.Get(HeaderCredential)}
		if a.ID == "" || a.Credential == "" {
			return Account{}, fmt.Errorf("%w: a 200 without the account headers: is %s espresso?", ErrUnavailable, c.verifyURL)
		}
		return a, nil
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h := http.Header{}
		for _, name := range []string{"Content-Type", "Cache-Control", "Retry-After"} {
			if v := resp.Header.Values(name); len(v) > 0 {
				h[name] = v
			}
		}
		return Account{}, &Refusal{Status: resp.StatusCode, Header: h, Body: body}
	}
	return Account{}, fmt.Errorf("%w: espresso answered %d", ErrUnavailable, resp.StatusCode)
}

// unavailableBody is the platform's answer when a dependency is down
// ("temporaily" is the platform's spelling, kept on purpose).
const unavailableBody = `{"code":5001,"error":"System resources temporaily unavailable","msg":"System resources temporaily unavailable"}` + "\n"

// Middleware lets a request through to next only if espresso accepts its
// credentials, with the Account in its context (FromContext) and the
// X-Espresso-* headers set to it (any the client sent are replaced). Any
// other request gets espresso's refusal, or 503 when espresso cannot be
// asked; next never sees it.
func (c *Client) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = ""
		}
		a, err := c.Verify(r.Context(), r.Header, host)
		if err != nil {
			var refusal *Refusal
			if errors.As(err, &refusal) {
				for k, v := range refusal.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(refusal.Status)
				_, _ = w.Write(refusal.Body)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, unavailableBody)
			return
		}
		r = r.WithContext(NewContext(r.Context(), a))
		r.Header.Set(HeaderAccountID, a.ID)
		r.Header.Set(HeaderWallet, a.Wallet)
		r.Header.Set(HeaderCredential, a.Credential)
		next.ServeHTTP(w, r)
	})
}
