package metrics

import (
	"testing"
	"time"
)

// BenchmarkPerRequest measures what the metrics add to an authenticated
// request: its route's count, and the verification histogram with the two
// clock reads around it, from both cores at once (the counters are shared).
// Compare with BenchmarkServeHTTP's few microseconds per request.
func BenchmarkPerRequest(b *testing.B) {
	m := New()
	route := m.Route("GET /accounts/api-key")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			start := time.Now()
			m.VerifyKey.Observe(time.Since(start).Seconds())
			route.Count(200)
		}
	})
}

func TestRoute_CountsByStatusAndOnlyNonZeroSeriesAreExposed(t *testing.T) {
	m := New()
	r := m.Route("/auth/verify")
	if m.Route("/auth/verify") != r {
		t.Fatal("asking twice for a route gave two counters")
	}
	for range 3 {
		r.Count(200)
	}
	r.Count(401)
	r.Count(42) // not a status: counted as 0, not lost
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "espresso_http_requests_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["route"]+" "+labels["code"]] = s.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"/auth/verify 200": 3, "/auth/verify 401": 1, "/auth/verify 0": 1}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
