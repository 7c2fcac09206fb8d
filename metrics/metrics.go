// Package metrics is espresso's Prometheus instrumentation: one registry
// per server (no global state), the series it exposes, and the HTTP
// handler that serves them in the Prometheus text format.
//
// The hot path pays as little as it can: request counts are atomics
// resolved once per route (Route), read and turned into series only when
// Prometheus scrapes; histograms are resolved once, so an observation is a
// few atomic adds; the key replica and the feed are read at scrape time
// (Keys). Nothing builds a label value per request.
//
// Every series is listed in docs/gateways.md, and the shipped dashboard and
// alert rules (deploy/grafana, deploy/prometheus) name only series a test
// finds in a live scrape.
package metrics

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/keys"
)

// Metrics is a server's instruments and the registry that exposes them.
// The zero value is not usable; New returns one. Every method is safe for
// concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	// Verification observes how long checking a request's credentials
	// took, by the credential that decided it: "key" (an API key, alone or
	// with a token) or "token".
	VerifyKey, VerifyToken prometheus.Observer
	// Rotation observes how long rotating a key took (GET
	// /accounts/new-api-key, database included), whatever the outcome.
	Rotation prometheus.Observer
	// SignIn observes how long a sign-in took (POST /accounts/signin,
	// signature check and database included), whatever the outcome.
	SignIn prometheus.Observer

	limited  *prometheus.CounterVec
	dbCalls  *prometheus.HistogramVec
	dbErrors *prometheus.CounterVec
	requests *requests
	keysOnce sync.Once
}

// New returns a registry holding espresso's series and the Go runtime's
// and the process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), requests: &requests{}}
	verify := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "espresso_verification_duration_seconds",
		Help: "Time to check a request's credentials (from memory), by the credential that decided it.",
		// 1 µs to 262 ms: a key takes about a microsecond, a token tens.
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
	}, []string{"credential"})
	slow := prometheus.ExponentialBuckets(0.0005, 2, 14) // 0.5 ms to 4 s
	rotation := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "espresso_rotation_duration_seconds", Help: "Time to rotate a key, database commit included.", Buckets: slow,
	})
	signIn := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "espresso_signin_duration_seconds", Help: "Time to sign a wallet in, signature check and database included.", Buckets: slow,
	})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "espresso_rate_limited_total", Help: "Requests refused with 429 by a rate limit, by limit.",
	}, []string{"limit"})
	m.dbCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "espresso_db_call_duration_seconds", Help: "Time of each database call (a read, a transaction, a ping), retries included, by operation.",
		Buckets: slow,
	}, []string{"op"})
	m.dbErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "espresso_db_errors_total",
		Help: "Database calls that failed because the database was unavailable (unreachable, timed out) or answered unexpectedly (internal), not refused operations. The log names the operation.",
	}, []string{"kind"})
	for _, k := range []espresso.Kind{espresso.Unavailable, espresso.Internal} {
		m.dbErrors.WithLabelValues(k.String()) // at zero from the start, so that rate() sees the first error
	}
	m.reg.MustRegister(verify, rotation, signIn, m.limited, m.dbCalls, m.dbErrors, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.VerifyKey, m.VerifyToken = verify.WithLabelValues("key"), verify.WithLabelValues("token")
	m.Rotation, m.SignIn = rotation, signIn
	return m
}

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Registry returns the registry, for tests and for adding series.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// RateLimited returns the counter of requests a named limit refused
// ("signin", "challenge", "credentials"). Resolve it once, not per request.
func (m *Metrics) RateLimited(limit string) prometheus.Counter {
	return m.limited.WithLabelValues(limit)
}

// ObserveDB records one database call: its time, and an error if it failed
// because the database was unavailable or broken. It has the signature of
// store.Options.Observe. Refusals that are answers (a key that is not
// live, an account that exists) are not database errors.
func (m *Metrics) ObserveDB(op string, took time.Duration, err error) {
	m.dbCalls.WithLabelValues(op).Observe(took.Seconds())
	if err == nil {
		return
	}
	switch k := espresso.KindOf(err); k {
	case espresso.Unavailable, espresso.Internal:
		m.dbErrors.WithLabelValues(k.String()).Inc()
	}
}

// Keys exposes the key replica of ks: its size, its feed position and
// staleness, and the notifications it has received, read at each scrape.
// Call it once; later calls do nothing.
func (m *Metrics) Keys(ks *keys.Service) {
	m.keysOnce.Do(func() { m.reg.MustRegister(replicaCollector{ks}) })
}

// Sessions exposes espresso_sessions, the live sessions in this node's
// memory, read from count at each scrape. Call it once.
func (m *Metrics) Sessions(count func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "espresso_sessions",
		Help: "Live sign-in sessions in this node's memory (expired ones linger up to a few seconds).",
	}, func() float64 { return float64(count()) }))
}

// Route returns the request counter of one route, by status. Resolve it
// once per route, when the routes are built: counting is then one atomic
// add. Asking twice for the same route returns the same counter.
func (m *Metrics) Route(route string) *Route { return m.requests.route(route) }

// Route counts one route's answers by status.
type Route struct {
	name   string
	counts [600]atomic.Uint64 // by status; statuses outside 100-599 count as 0
}

// Count records one answer with status.
func (r *Route) Count(status int) {
	if status < 100 || status >= len(r.counts) {
		status = 0
	}
	r.counts[status].Add(1)
}

// requests is espresso_http_requests_total: every Route's counts, turned
// into series at scrape time (only the non-zero ones).
type requests struct {
	mu     sync.Mutex
	routes []*Route
}

var requestsDesc = prometheus.NewDesc("espresso_http_requests_total",
	"HTTP requests answered, by route (the route table's pattern; \"unmatched\" for no route) and status code.",
	[]string{"route", "code"}, nil)

func (q *requests) route(name string) *Route {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.IndexFunc(q.routes, func(r *Route) bool { return r.name == name }); i >= 0 {
		return q.routes[i]
	}
	r := &Route{name: name}
	q.routes = append(q.routes, r)
	return r
}

func (q *requests) Describe(ch chan<- *prometheus.Desc) { ch <- requestsDesc }

func (q *requests) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	routes := slices.Clone(q.routes)
	q.mu.Unlock()
	for _, r := range routes {
		for status := range r.counts {
			if n := r.counts[status].Load(); n > 0 {
				ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), r.name, strconv.Itoa(status))
			}
		}
	}
}

// replicaCollector reads a key replica's Stats at scrape time.
type replicaCollector struct{ ks *keys.Service }

var (
	replicaKeysDesc = prometheus.NewDesc("espresso_replica_keys",
		"Live keys in this node's in-memory replica.", nil, nil)
	feedPositionDesc = prometheus.NewDesc("espresso_feed_position",
		"The key feed's sequence number this node's replica has applied up to.", nil, nil)
	feedStalenessDesc = prometheus.NewDesc("espresso_feed_staleness_seconds",
		"Seconds since the replica was last known to match the database (keys are refused with 503 past --max-staleness).", nil, nil)
	feedNotificationsDesc = prometheus.NewDesc("espresso_feed_notifications_total",
		"Change notifications received from the database (PostgreSQL LISTEN; always 0 on SQLite, which is polled).", nil, nil)
	replicaBytesDesc = prometheus.NewDesc("espresso_replica_bytes",
		"Memory held by this node's key replica (its tables; about 100 bytes per live key).", nil, nil)
	replicaLoadedDesc = prometheus.NewDesc("espresso_replica_loaded",
		"1 once the replica holds every live key; 0 while it loads (keys not loaded yet are looked up in the database).", nil, nil)
)

func (c replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaKeysDesc
	ch <- feedPositionDesc
	ch <- feedStalenessDesc
	ch <- feedNotificationsDesc
	ch <- replicaBytesDesc
	ch <- replicaLoadedDesc
}

func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.ks.Stats()
	ch <- prometheus.MustNewConstMetric(replicaKeysDesc, prometheus.GaugeValue, float64(s.Keys))
	ch <- prometheus.MustNewConstMetric(feedPositionDesc, prometheus.GaugeValue, float64(s.Seq))
	ch <- prometheus.MustNewConstMetric(feedStalenessDesc, prometheus.GaugeValue, max(0, time.Since(s.LastSync).Seconds()))
	ch <- prometheus.MustNewConstMetric(feedNotificationsDesc, prometheus.CounterValue, float64(s.Notifications))
	ch <- prometheus.MustNewConstMetric(replicaBytesDesc, prometheus.GaugeValue, float64(s.Bytes))
	loaded := 0.0
	if s.Loaded {
		loaded = 1
	}
	ch <- prometheus.MustNewConstMetric(replicaLoadedDesc, prometheus.GaugeValue, loaded)
}
