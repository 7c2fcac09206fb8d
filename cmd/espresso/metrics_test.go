package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/espresso-auth/espresso/wallet"
)

// scrape reads a node's /metrics, failing unless it parses as the
// Prometheus text format.
func scrape(t testing.TB, metricsURL string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(metricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return families
}

// value returns the value of the series of family name whose labels include
// labels (a histogram's sample count), or -1 if there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
series:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
				return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}) {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return -1
}

// TestMetrics_ParseAsPrometheusTextAndMoveWithTraffic serves the metrics on
// their own listener, sends traffic of every kind the metrics count, and
// checks that each series moved by what was sent.
func TestMetrics_ParseAsPrometheusTextAndMoveWithTraffic(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	metricsAddr := freeAddr(t)
	n := serveNode(t, nil, "--data", data, "--metrics-addr", metricsAddr, "--signin-rate", "2")
	murl := "http://" + metricsAddr
	acct := mustIssue(t, nil, "account", "create", "--wallet", newWallet(t, wallet.Mainnet), "--data", data)

	if status, _ := call(t, "GET", n.url+"/metrics", ""); status != 404 {
		t.Errorf("GET /metrics on the public --addr: %d, want 404", status)
	}
	// The runtime's profiles are internal: on the metrics listener only.
	if status, _ := call(t, "GET", n.url+"/debug/pprof/", ""); status != 404 {
		t.Errorf("GET /debug/pprof/ on the public --addr: %d, want 404", status)
	}
	if status, body := call(t, "GET", murl+"/debug/pprof/goroutine?debug=1", ""); status != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Errorf("GET /debug/pprof/goroutine on --metrics-addr: %d %.100q, want 200 and the profile", status, body)
	}
	if status, _ := call(t, "GET", n.url+"/debug/pprof/heap", ""); status != 404 {
		t.Errorf("GET /debug/pprof/heap on the public --addr: %d, want 404", status)
	}
	if status, body := call(t, "GET", murl+"/debug/pprof/heap?debug=1", ""); status != 200 || !strings.Contains(string(body), "heap profile") {
		t.Errorf("GET /debug/pprof/heap on --metrics-addr: %d %.80q, want 200 and a heap profile", status, body)
	}
	// The command line may carry --database-url with its password.
	if status, _ := call(t, "GET", murl+"/debug/pprof/cmdline", ""); status != 404 {
		t.Errorf("GET /debug/pprof/cmdline on --metrics-addr: %d, want 404", status)
	}
	before := scrape(t, murl)
	if v := value(before, "espresso_replica_keys"); v != 0 && v != 1 {
		t.Errorf("espresso_replica_keys = %v at the start, want 0 or 1", v)
	}

	const checks = 5
	for range checks {
		mustStatus(t, "GET", n.url+"/auth/verify", acct.APIKey, 200)
	}
	mustStatus(t, "GET", n.url+"/auth/verify", "", 401)
	mustAccept(t, n.url, acct.APIKey, "api-key")
	rotated := rotate(t, n.url, acct.APIKey)
	mustStatus(t, "GET", n.url+"/auth/verify", rotated, 200)
	for range 3 { // a budget of 2 a minute: the third is refused
		send("POST", n.url+"/accounts/signin/challenge", "")
	}

	after := scrape(t, murl)
	for _, c := range []struct {
		name   string
		labels []string
		min    float64 // at least this many more than before
	}{
		{"espresso_http_requests_total", []string{"route", "/auth/verify", "code", "200"}, checks + 1},
		{"espresso_http_requests_total", []string{"route", "/auth/verify", "code", "401"}, 1},
		{"espresso_http_requests_total", []string{"route", "GET /accounts/api-key", "code", "200"}, 1},
		{"espresso_http_requests_total", []string{"route", "GET /accounts/new-api-key", "code", "200"}, 1},
		{"espresso_http_requests_total", []string{"route", "POST /accounts/signin/challenge", "code", "429"}, 1},
		{"espresso_verification_duration_seconds", []string{"credential", "key"}, checks + 3},
		{"espresso_rotation_duration_seconds", nil, 1},
		{"espresso_rate_limited_total", []string{"limit", "challenge"}, 1},
		{"espresso_db_call_duration_seconds", []string{"op", "rotate key"}, 1},
	} {
		b, a := max(0, value(before, c.name, c.labels...)), value(after, c.name, c.labels...)
		if a-b < c.min {
			t.Errorf("%s%v: %v before, %v after; want it up by at least %v", c.name, c.labels, b, a, c.min)
		}
	}
	// The feed reaches the rotation's events (seqs 2 and 3) at its next
	// read; the node applied them locally before answering.
	pollUntil(t, time.Now(), 5*time.Second, "espresso_feed_position reaching 3", func() (bool, string) {
		v := value(scrape(t, murl), "espresso_feed_position")
		return v == 3, fmt.Sprint(v)
	})
	if v := value(after, "espresso_replica_keys"); v != 1 {
		t.Errorf("espresso_replica_keys = %v, want 1", v)
	}
	if v := value(after, "espresso_feed_staleness_seconds"); v < 0 || v > 5 {
		t.Errorf("espresso_feed_staleness_seconds = %v, want a fresh replica", v)
	}
	if v := value(after, "espresso_replica_bytes"); v <= 0 {
		t.Errorf("espresso_replica_bytes = %v, want the replica's size", v)
	}
	for _, name := range []string{"espresso_db_errors_total", "espresso_feed_notifications_total", "espresso_replica_loaded", "go_goroutines", "process_resident_memory_bytes"} {
		if value(after, name) < 0 {
			t.Errorf("%s is missing from the scrape", name)
		}
	}
	noKeysLogged(t, []string{acct.APIKey, rotated}, n)
}

// TestMetrics_DashboardAndAlertsNameOnlyExistingSeries checks every metric
// the shipped Grafana dashboard and Prometheus alert rules name against a
// live scrape of a node that has served a little traffic.
func TestMetrics_DashboardAndAlertsNameOnlyExistingSeries(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	metricsAddr := freeAddr(t)
	n := serveNode(t, nil, "--data", data, "--metrics-addr", metricsAddr)
	acct := mustIssue(t, nil, "account", "create", "--wallet", newWallet(t, wallet.Mainnet), "--data", data)
	mustStatus(t, "GET", n.url+"/auth/verify", acct.APIKey, 200)
	rotate(t, n.url, acct.APIKey)
	send("POST", n.url+"/accounts/signin", "")
	families := scrape(t, "http://"+metricsAddr)

	dashboard, err := os.ReadFile("../../deploy/grafana/espresso-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	alerts, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	exprs = append(exprs, string(alerts))

	name := regexp.MustCompile(`\bespresso_[a-z_]+`)
	seen := 0
	for _, e := range exprs {
		for _, m := range name.FindAllString(e, -1) {
			seen++
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if s, ok := strings.CutSuffix(m, suffix); ok && families[s] != nil && families[s].GetType() == dto.MetricType_HISTOGRAM {
					base = s
				}
			}
			if families[base] == nil {
				t.Errorf("%s is named by the dashboard or the alerts but not in a live scrape", m)
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d metric names in the dashboard and alerts: is the test reading them?", seen)
	}
}

// mustStatus fails the test unless a request answers status.
func mustStatus(t testing.TB, method, url, key string, status int) {
	t.Helper()
	if got, body := call(t, method, url, key); got != status {
		t.Fatalf("%s %s: %d %s, want %d", method, url, got, body, status)
	}
}
