// Package httpapi is espresso's HTTP interface: the route table, the
// handlers, authentication of requests, and the table that turns errors
// into the platform's {"code", "error", "msg"} answers.
package httpapi

import (
	"log"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/spot"
)

// Deps are what the HTTP interface needs.
type Deps struct {
	Keys     *keys.Service
	Sessions *sessions.Service
	Spot     *spot.Service
	Logger   *slog.Logger
	// SignInRate is how many challenge and sign-in requests a client IP may
	// make a minute (each has its own budget); default 30.
	SignInRate int
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	Now            func() time.Time // default time.Now
}

// NewServer returns the handler for every route, with request logging and
// panic recovery around it.
func NewServer(d Deps) http.Handler { return logRequests(d.Logger, newHandler(d)) }

// newHandler is NewServer without the access log: nothing but the log
// depends on it.
func newHandler(d Deps) http.Handler {
	if d.SignInRate <= 0 {
		d.SignInRate = 30
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return recoverPanics(d.Logger, newRouter(routes(d), d.Logger))
}

// NewHTTPServer returns the http.Server espresso runs h with: timeouts so a
// slow client cannot hold a connection, a 64 KiB header limit (larger
// headers get net/http's own 431), and no built-in answer to "OPTIONS *".
func NewHTTPServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:                      h,
		ReadHeaderTimeout:            5 * time.Second,
		ReadTimeout:                  10 * time.Second,
		WriteTimeout:                 10 * time.Second,
		IdleTimeout:                  2 * time.Minute,
		MaxHeaderBytes:               64 << 10,
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     errorLog,
	}
}
