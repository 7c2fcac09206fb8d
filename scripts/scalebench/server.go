package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

// build builds espresso from this checkout into bin.
func build(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/espresso")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building espresso (run scalebench from the repository's root): %w", err)
	}
	return nil
}

// server is the running binary.
type server struct {
	cmd        *exec.Cmd
	base       string // http://host:port
	metricsURL string // the metrics listener's /metrics URL
	ready      time.Duration
	began      time.Time // the exec
	exited     chan struct{}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// startServer starts bin serving db and waits for /readyz to answer 200,
// timing it from the exec.
func startServer(ctx context.Context, bin string, db *target, work string, retention time.Duration) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	maddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The limits are for hostile clients; the benchmark's are one address.
	args := []string{"serve", "--addr", addr, "--metrics-addr", maddr, "--log-level", "warn",
		"--signin-rate", "1000000000", "--auth-failure-rate", "1000000000", "--auth-failure-burst", "1000000000"}
	if db.kind == "sqlite" {
		args = append(args, "--data", db.dir)
	} else {
		args = append(args, "--database-url", db.url)
	}
	if retention > 0 {
		args = append(args, "--event-retention", retention.String(), "--prune-interval", max(retention/4, time.Second).String())
	}
	logf, err := os.Create(filepath.Join(work, "server.log"))
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, metricsURL: "http://" + maddr + "/metrics", exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.began = time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); _ = logf.Close(); close(s.exited) }()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(s.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				s.ready = time.Since(s.began)
				return s, nil
			}
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(work, "server.log"))
			return nil, fmt.Errorf("the server exited before it was ready:\n%s", log)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (s *server) sinceStart() time.Duration { return time.Since(s.began) }

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// sample is what the benchmark reads from /metrics.
type sample struct {
	rss, heap float64
	cpu       float64 // the server's CPU seconds
	dbCalls   float64 // every database call, by any operation
	loaded    bool    // the key replica holds every live key
}

func (s *server) metrics(ctx context.Context) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.metricsURL, nil)
	if err != nil {
		return sample{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return sample{}, err
	}
	var m sample
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch {
		case name == "process_resident_memory_bytes":
			m.rss, found = v, found+1
		case name == "go_memstats_heap_inuse_bytes":
			m.heap, found = v, found+1
		case name == "espresso_replica_loaded":
			m.loaded = v == 1
		case name == "process_cpu_seconds_total":
			m.cpu = v
		case strings.HasPrefix(name, "espresso_db_call_duration_seconds_count{"):
			m.dbCalls += v
		}
	}
	if found < 2 {
		return m, errors.New("/metrics has no process_resident_memory_bytes or go_memstats_heap_inuse_bytes")
	}
	return m, nil
}

// cpuProfile writes the server's CPU profile over d (from the metrics
// listener's /debug/pprof/profile) to path.
func (s *server) cpuProfile(ctx context.Context, d time.Duration, path string) error {
	secs := max(int(d/time.Second), 1)
	url := strings.TrimSuffix(s.metricsURL, "/metrics") + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// waitLoaded waits until the server's key replica holds every live key
// (it serves before that, looking up keys not loaded yet) and returns the
// metrics then.
func (s *server) waitLoaded(ctx context.Context) (sample, error) {
	for {
		m, err := s.metrics(ctx)
		if err != nil || m.loaded {
			return m, err
		}
		select {
		case <-s.exited:
			return m, errors.New("the server exited before its replica was loaded")
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
