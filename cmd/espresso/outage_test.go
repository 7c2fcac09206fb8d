package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
)

// recoverWithin bounds the wait for nodes to notice that PostgreSQL is back.
// Not a performance target: the nodes reconnect within about a second.
const recoverWithin = 30 * time.Second

// outageFor is how long the outage within max-staleness lasts: more than two
// feed polls (1 s) and Watch's longest wait between attempts to listen again
// (1 s), far less than the default --max-staleness (30 s).
const outageFor = 2500 * time.Millisecond

// pgCluster is a pgtest.Cluster that knows whether it runs, so that a subtest
// that fails during an outage starts it again for the next one and for the
// cleanups that need it (dropping the schema).
type pgCluster struct {
	*pgtest.Cluster
	down bool
}

func (c *pgCluster) stop(t *testing.T) time.Duration {
	t.Helper()
	began := time.Now()
	c.Stop(t)
	c.down = true
	return time.Since(began)
}

func (c *pgCluster) start(t testing.TB) time.Duration {
	t.Helper()
	began := time.Now()
	c.Start(t)
	c.down = false
	return time.Since(began)
}

// schema returns a fresh schema of the cluster; the cluster is started again
// at the end of the test if the test left it stopped.
func (c *pgCluster) schema(t *testing.T) string {
	t.Helper()
	u := pgtest.Schema(t, c.URL())
	t.Cleanup(func() {
		if c.down {
			c.start(t)
		}
	})
	return u
}

// TestOutage_PostgreSQLStoppedAndRestarted stops the PostgreSQL server under
// two running nodes and starts it again, without touching the nodes.
func TestOutage_PostgreSQLStoppedAndRestarted(t *testing.T) {
	t.Parallel()
	c := &pgCluster{Cluster: pgtest.StartCluster(t)}

	// An outage shorter than --max-staleness (30 s by default): writes and
	// readiness answer 503 5001 within 5 s, keys the nodes know keep
	// verifying from their replicas, and once PostgreSQL is back the nodes
	// are ready again, rotate again and hear each other's rotations again.
	t.Run("shorter than max-staleness", func(t *testing.T) {
		dbURL := c.schema(t)
		nodes := pgNodes(t, dbURL, 2)
		a, b := nodes[0].url, nodes[1].url
		acct := newPGAccount(t, dbURL)
		key := acct.APIKey
		issued := []string{key}
		for _, n := range nodes {
			mustAccept(t, n.url, key, "before the outage")
		}
		pollUntil(t, time.Now(), recoverWithin, "both nodes LISTEN before the outage",
			func() (bool, string) { n := pgListeners(t, dbURL); return n == 2, fmt.Sprint(n, " listeners") })

		t.Logf("PostgreSQL stopped in %v", c.stop(t).Round(time.Millisecond))
		stopped := time.Now()

		status, body, took := timedDo(t, "GET", a+"/accounts/new-api-key", key)
		wantAnswer(t, "rotation with PostgreSQL down", status, body, took, 503, unavailableBody)
		t.Logf("rotation with PostgreSQL down: %d in %v", status, took.Round(time.Microsecond))
		for _, n := range nodes {
			mustAccept(t, n.url, key, "the key after a failed rotation, PostgreSQL down")
		}
		status, body, took = timedDo(t, "DELETE", b+"/accounts/api-key", key)
		wantAnswer(t, "DELETE with PostgreSQL down", status, body, took, 503, unavailableBody)
		t.Logf("DELETE with PostgreSQL down: %d in %v", status, took.Round(time.Microsecond))
		for i, n := range nodes {
			status, body, took := timedDo(t, "GET", n.url+"/readyz", "")
			wantAnswer(t, fmt.Sprintf("node %d /readyz with PostgreSQL down", i), status, body, took, 503, unavailableBody)
			t.Logf("node %d /readyz with PostgreSQL down: %d in %v", i, status, took.Round(time.Microsecond))
			status, body, took = timedDo(t, "GET", n.url+"/healthz", "")
			wantAnswer(t, fmt.Sprintf("node %d /healthz with PostgreSQL down", i), status, body, took, 200, []byte(`{"status":"ok"}`))
		}
		// A well-formed key the replicas do not hold: the read of the feed
		// that a miss triggers fails. Refused (4010: the replica is fresh)
		// or 5001 (the node cannot know) are both defensible; a 500 or a
		// hang is not.
		stranger, err := apikey.New(apikey.Live)
		if err != nil {
			t.Fatal(err)
		}
		status, body, took = timedDo(t, "GET", a+"/accounts/api-key", stranger.String())
		if !(status == 401 && bytes.Equal(body, unauthorizedBody)) {
			wantAnswer(t, "an unknown key with PostgreSQL down", status, body, took, 503, unavailableBody)
		} else {
			wantAnswer(t, "an unknown key with PostgreSQL down", status, body, took, 401, unauthorizedBody)
		}
		t.Logf("an unknown key with PostgreSQL down: %d in %v", status, took.Round(time.Microsecond))
		// Keep PostgreSQL down for a while (several failed feed reads and
		// attempts to LISTEN again, far below max-staleness): the known
		// key keeps verifying from the replicas all along.
		checks := 0
		for checks == 0 || time.Since(stopped) < outageFor {
			for i, n := range nodes {
				status, body, took := timedDo(t, "GET", n.url+"/accounts/api-key", key)
				wantAnswer(t, fmt.Sprintf("node %d, the known key from the replica, PostgreSQL down", i), status, body, took, 200, nil)
				checks++
			}
			time.Sleep(10 * time.Millisecond)
		}
		for i, n := range nodes {
			status, body, took := timedDo(t, "GET", n.url+"/readyz", "")
			wantAnswer(t, fmt.Sprintf("node %d /readyz at the end of the outage", i), status, body, took, 503, unavailableBody)
		}
		outage := time.Since(stopped)
		t.Logf("the known key verified %d times from the replicas during the outage", checks)
		if outage > 20*time.Second {
			t.Fatalf("the outage lasted %v: too close to --max-staleness (30s) for this subtest to mean anything", outage)
		}

		t.Logf("PostgreSQL started again in %v, after an outage of %v", c.start(t).Round(time.Millisecond), outage.Round(time.Millisecond))
		restarted := time.Now()
		for i, n := range nodes {
			d := pollUntil(t, restarted, recoverWithin, fmt.Sprintf("node %d /readyz 200 after PostgreSQL is back", i),
				statusIs(t, "GET", n.url+"/readyz", "", 200, []byte(`{"status":"ready"}`)))
			t.Logf("node %d ready %v after PostgreSQL is back", i, d.Round(time.Millisecond))
		}
		d := pollUntil(t, restarted, recoverWithin, "both nodes LISTEN again",
			func() (bool, string) { n := pgListeners(t, dbURL); return n == 2, fmt.Sprint(n, " listeners") })
		t.Logf("both nodes LISTEN again %v after PostgreSQL is back", d.Round(time.Millisecond))

		next, answered := rotateAt(t, a, key)
		issued = append(issued, next)
		mustRefuse(t, a, key, "the old key on A after the first rotation since the outage")
		t.Logf("B refused the key rotated on A %v after A's answer", refusedAfter(t, b, key, answered, "B, the first rotation on A since the outage").Round(time.Microsecond))
		mustAccept(t, b, next, "B, the new key") // B holds it now
		newer, answered := rotateAt(t, a, next)
		issued = append(issued, newer)
		t.Logf("B refused the new key rotated on A %v after A's answer", refusedAfter(t, b, next, answered, "B, the new key's rotation on A").Round(time.Microsecond))
		mustAccept(t, b, newer, "B, the newest key")
		noKeysLogged(t, issued, nodes...)
	})

	// An outage longer than --max-staleness: the nodes stop vouching for
	// keys (503 5001) instead of accepting keys that may have been revoked
	// elsewhere, and vouch again once PostgreSQL is back.
	t.Run("longer than max-staleness", func(t *testing.T) {
		const maxStaleness = 2 * time.Second
		dbURL := c.schema(t)
		nodes := pgNodes(t, dbURL, 2, "--max-staleness", maxStaleness.String())
		a, b := nodes[0].url, nodes[1].url
		acct := newPGAccount(t, dbURL)
		key := acct.APIKey
		issued := []string{key}
		for _, n := range nodes {
			mustAccept(t, n.url, key, "before the outage")
		}

		c.stop(t)
		stopped := time.Now()
		for i, n := range nodes {
			// 200 until the replica is too stale, then 503 5001. It goes
			// stale max-staleness after the last successful read of the
			// feed, which was at most one poll (1 s) before the stop;
			// answerWithin is the slack.
			d := pollUntil(t, stopped, maxStaleness+answerWithin, fmt.Sprintf("node %d refuses to vouch for keys past --max-staleness", i),
				func() (bool, string) {
					s, body := call(t, "GET", n.url+"/accounts/api-key", key)
					if s != 200 && !(s == 503 && bytes.Equal(body, unavailableBody)) {
						t.Fatalf("node %d, the known key with PostgreSQL down: %d %s, want 200 then 503 %s", i, s, body, unavailableBody)
					}
					return s == 503, fmt.Sprintf("%d %s", s, body)
				})
			t.Logf("node %d: the known key answered 503 %v after PostgreSQL stopped (max-staleness %v)", i, d.Round(time.Millisecond), maxStaleness)
		}
		for i, n := range nodes {
			status, body, took := timedDo(t, "GET", n.url+"/accounts/api-key", key)
			wantAnswer(t, fmt.Sprintf("node %d, the known key past max-staleness", i), status, body, took, 503, unavailableBody)
			status, body, took = timedDo(t, "GET", n.url+"/accounts/new-api-key", key)
			wantAnswer(t, fmt.Sprintf("node %d, a rotation past max-staleness", i), status, body, took, 503, unavailableBody)
			status, body, took = timedDo(t, "GET", n.url+"/readyz", "")
			wantAnswer(t, fmt.Sprintf("node %d /readyz past max-staleness", i), status, body, took, 503, unavailableBody)
			status, body, took = timedDo(t, "GET", n.url+"/healthz", "")
			wantAnswer(t, fmt.Sprintf("node %d /healthz past max-staleness", i), status, body, took, 200, []byte(`{"status":"ok"}`))
		}

		c.start(t)
		restarted := time.Now()
		for i, n := range nodes {
			d := pollUntil(t, restarted, recoverWithin, fmt.Sprintf("node %d accepts the key again", i),
				statusIs(t, "GET", n.url+"/accounts/api-key", key, 200, nil))
			pollUntil(t, restarted, recoverWithin, fmt.Sprintf("node %d /readyz 200 again", i),
				statusIs(t, "GET", n.url+"/readyz", "", 200, []byte(`{"status":"ready"}`)))
			t.Logf("node %d accepts the key again %v after PostgreSQL is back", i, d.Round(time.Millisecond))
		}
		next, answered := rotateAt(t, a, key)
		issued = append(issued, next)
		refusedAfter(t, b, key, answered, "B, a rotation on A after the outage")
		mustAccept(t, b, next, "B, the new key")
		noKeysLogged(t, issued, nodes...)
	})
}

// stallProxy forwards TCP connections to a PostgreSQL server until stalled;
// then it accepts connections and bytes but forwards nothing, as a dead
// route or a frozen server would. Resuming closes every connection it
// carried, as the end of such an outage would, and forwards new ones again.
type stallProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	stalled bool
	conns   []net.Conn
}

func startStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.closeAll()
	})
	return p
}

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		stalled := p.stalled
		p.mu.Unlock()
		if stalled {
			go func() { _, _ = io.Copy(io.Discard, c) }() // accepted, never answered
			continue
		}
		go func() {
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			p.pipe(c, up)
		}()
	}
}

// pipe copies src to dst, dropping what it reads while the proxy is stalled.
func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			stalled := p.stalled
			p.mu.Unlock()
			if !stalled {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

func (p *stallProxy) resume() {
	p.mu.Lock()
	p.stalled = false
	p.mu.Unlock()
	p.closeAll()
}

func (p *stallProxy) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// TestOutage_PostgreSQLStopsAnswering puts a proxy between two nodes and
// PostgreSQL and stalls it: connections and queries hang instead of
// failing at once, which is where a missing timeout would show. Every
// request must still be answered within 5 s (503 5001 for writes and
// readiness, 200 from the replica for a known key), all at once as well as
// one by one, and the nodes must recover by themselves when it forwards
// again.
func TestOutage_PostgreSQLStopsAnswering(t *testing.T) {
	t.Parallel()
	direct := pgtest.URL(t)
	u, err := url.Parse(direct)
	if err != nil || u.Host == "" {
		t.Skipf("%s is not a postgres:// URL with a host; cannot put a proxy in front of it", pgtest.EnvURL)
	}
	p := startStallProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	nodes := pgNodes(t, u.String(), 2)
	a, b := nodes[0].url, nodes[1].url
	acct := newPGAccount(t, direct)
	key := acct.APIKey
	issued := []string{key}
	for _, n := range nodes {
		mustAccept(t, n.url, key, "before the stall")
	}

	p.stall()
	stalled := time.Now()
	stranger, err := apikey.New(apikey.Live)
	if err != nil {
		t.Fatal(err)
	}
	is := func(status int, body []byte) func(int, []byte) bool {
		return func(s int, b []byte) bool { return s == status && (body == nil || bytes.Equal(b, body)) }
	}
	requests := []struct {
		what, method, url, key string
		want                   string
		ok                     func(status int, body []byte) bool
	}{
		{"rotation on A", "GET", a + "/accounts/new-api-key", key, "503 5001", is(503, unavailableBody)},
		{"DELETE on B", "DELETE", b + "/accounts/api-key", key, "503 5001", is(503, unavailableBody)},
		{"/readyz on A", "GET", a + "/readyz", "", "503 5001", is(503, unavailableBody)},
		{"/readyz on B", "GET", b + "/readyz", "", "503 5001", is(503, unavailableBody)},
		{"/healthz on A", "GET", a + "/healthz", "", "200", is(200, []byte(`{"status":"ok"}`))},
		{"the known key on A", "GET", a + "/accounts/api-key", key, "200", is(200, nil)},
		{"the known key on B", "GET", b + "/accounts/api-key", key, "200", is(200, nil)},
		// The read of the feed that a miss triggers hangs: refused or
		// unavailable are both defensible, a 500 or a hang is not.
		{"an unknown key on A", "GET", a + "/accounts/api-key", stranger.String(), "401 4010 or 503 5001",
			func(s int, b []byte) bool { return is(401, unauthorizedBody)(s, b) || is(503, unavailableBody)(s, b) }},
	}
	// All at once: they compete for the pool's connections, all stuck.
	type answer struct {
		status int
		body   []byte
		took   time.Duration
		err    error
	}
	answers := make([]answer, len(requests))
	var wg sync.WaitGroup
	for i, r := range requests {
		wg.Go(func() {
			began := time.Now()
			status, body, err := send(r.method, r.url, r.key)
			answers[i] = answer{status, body, time.Since(began), err}
		})
	}
	wg.Wait()
	for i, r := range requests {
		got := answers[i]
		switch {
		case got.err != nil:
			t.Errorf("%s, PostgreSQL hanging: %v", r.what, got.err)
		case !r.ok(got.status, got.body):
			t.Errorf("%s, PostgreSQL hanging: %d %s, want %s", r.what, got.status, got.body, r.want)
		case got.took >= answerWithin:
			t.Errorf("%s, PostgreSQL hanging, took %v: want under %v", r.what, got.took, answerWithin)
		}
		t.Logf("%s, PostgreSQL hanging: %d in %v", r.what, got.status, got.took.Round(time.Millisecond))
	}
	if d := time.Since(stalled); d > 20*time.Second {
		t.Fatalf("the stall lasted %v: too close to --max-staleness (30s) for this test to mean anything", d)
	}

	p.resume()
	resumed := time.Now()
	for i, n := range nodes {
		d := pollUntil(t, resumed, recoverWithin, fmt.Sprintf("node %d /readyz 200 once PostgreSQL answers again", i),
			statusIs(t, "GET", n.url+"/readyz", "", 200, []byte(`{"status":"ready"}`)))
		t.Logf("node %d ready %v after PostgreSQL answers again", i, d.Round(time.Millisecond))
	}
	pollUntil(t, resumed, recoverWithin, "both nodes LISTEN again",
		func() (bool, string) { n := pgListeners(t, direct); return n == 2, fmt.Sprint(n, " listeners") })
	next, answered := rotateAt(t, a, key)
	issued = append(issued, next)
	refusedAfter(t, b, key, answered, "B, a rotation on A after the stall")
	mustAccept(t, b, next, "B, the new key after the stall")
	noKeysLogged(t, issued, nodes...)
}
