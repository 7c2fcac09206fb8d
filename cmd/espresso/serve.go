package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/espresso-auth/espresso/httpapi"
	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/metrics"
	"github.com/espresso-auth/espresso/ratelimit"
	"github.com/espresso-auth/espresso/sessions"
	"github.com/espresso-auth/espresso/spot"
	"github.com/espresso-auth/espresso/store"
)

// serve runs the server until ctx ends (SIGINT/SIGTERM), then stops
// accepting requests, finishes those in flight, flushes key usage and closes
// the database, in that order.
func serve(ctx context.Context, args []string, getenv func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	var c config
	fs := newFlagSet("serve", stdout)
	c.storeFlags(fs)
	c.serveFlags(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	// Every setting is checked, and the address bound, before the database
	// is opened: a mistake or a taken port must not create or migrate data.
	network, env, err := c.networks()
	if err != nil {
		return err
	}
	trusted, err := c.trustedProxies()
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return usagef("--log-level: must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if err := c.checkServe(getenv); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	defer ln.Close() // when serving, Shutdown has closed it already
	var metricsLn net.Listener
	if c.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer metricsLn.Close()
	}
	if c.PublicURL == "" {
		c.PublicURL = defaultPublicURL(c.Addr, ln.Addr())
	}
	handler := slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	log := slog.New(handler)

	m := metrics.New()
	tightenData(&c, log)
	st, applied, err := openStore(ctx, &c, true, m.ObserveDB)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(applied) > 0 {
		log.Info("database migrated", "applied", applied)
	}
	settler := newHeapSettler(getenv, log)
	ks := keys.New(st, keys.Options{Env: env, Logger: log, MaxStaleness: c.MaxStaleness, PollInterval: pollInterval(&c),
		EventRetention: c.EventRetention, PruneInterval: c.PruneInterval, Loaded: settler.notify})
	secret, err := sessions.Secret(ctx, st, getenv("ESPRESSO_JWT_SECRET"))
	if err != nil {
		return err
	}
	ss, err := sessions.New(st, secret, sessions.Options{Network: network, PublicURL: c.PublicURL, TokenTTL: c.JWTTTL,
		MaxLifetime: c.SessionMaxLifetime, Feed: ks, Logger: log, PruneInterval: c.PruneInterval})
	switch {
	case errors.Is(err, sessions.ErrPublicURL):
		return fmt.Errorf("%w: --public-url: %v", errUsage, err)
	case err != nil:
		return fmt.Errorf("%w: ESPRESSO_JWT_SECRET or --jwt-ttl: %v", errUsage, err)
	}
	// One reader of the feed for keys and sessions: the key follower
	// hands every session event to ss.
	ks.Follow(ss)
	if err := ks.Load(ctx); err != nil {
		return fmt.Errorf("loading keys and sessions: %w", err)
	}
	m.Keys(ks)
	m.Sessions(ss.LiveCount)

	limits := ratelimit.New(ratelimit.Config{
		SignIn:   ratelimit.Rate{PerMinute: c.SignInRate, Burst: c.SignInRate},
		Failures: ratelimit.Rate{PerMinute: c.FailureRate, Burst: c.FailureBurst},
		Shared:   sharedLimits(st), Logger: log, Delay: c.FailureDelay,
	})
	errorLog := slog.NewLogLogger(handler, slog.LevelWarn)
	srv := httpapi.NewHTTPServer(httpapi.NewServer(httpapi.Deps{
		Keys: ks, Sessions: ss, Spot: spot.New(st), Logger: log, Metrics: m,
		Limits: limits, TrustedProxies: trusted,
	}), errorLog)
	servers := []*http.Server{srv}

	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { ks.Run(bg) })
	wg.Go(func() { ss.Run(bg) })
	wg.Go(func() { limits.Run(bg) })
	wg.Go(func() { settler.run(bg, func() int { return ks.Stats().Bytes }) })
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	if metricsLn != nil {
		// Its own listener: metrics tell traffic and account counts, which
		// a public --addr must not.
		msrv := httpapi.NewHTTPServer(metricsHandler(m), errorLog)
		servers = append(servers, msrv)
		go func() { served <- msrv.Serve(metricsLn) }()
		log.Info("serving metrics", "addr", metricsLn.Addr().String())
	}
	log.Info("serving", "addr", ln.Addr().String(), "network", c.Network, "database", describe(&c))

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	for _, s := range servers {
		if serr := s.Shutdown(shutdownCtx); err == nil || errors.Is(err, http.ErrServerClosed) {
			err = serr
		}
	}
	cancel()
	stopBg()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// sharedLimits is the store, when it keeps rate limits for every node
// sharing it (PostgreSQL); nil otherwise.
func sharedLimits(st *store.Store) ratelimit.Shared {
	if st.SharesLimits() {
		return st
	}
	return nil
}

// metricsHandler serves GET /metrics on the metrics listener, the Go
// runtime's profiles under /debug/pprof/ (for operators and benchmarks
// finding where memory or CPU goes; the listener is internal, like the
// metrics), and 404 for anything else, the command line included: it may
// carry --database-url with a password.
func metricsHandler(m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	return mux
}
