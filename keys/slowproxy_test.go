package keys

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// slowProxy forwards TCP connections to a server, delaying everything the
// server sends by a fixed latency, as a distant database would: every call
// then takes at least one latency, so a load of many pages takes at least
// that many latencies, whatever the machine's speed. cut closes every
// connection open (a network blip).
type slowProxy struct {
	l        net.Listener
	upstream string
	latency  time.Duration

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startSlowProxy(t testing.TB, upstream string, latency time.Duration) *slowProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{l: l, upstream: upstream, latency: latency}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = l.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *slowProxy) addr() string { return p.l.Addr().String() }

func (p *slowProxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Go(func() { _, _ = io.Copy(u, c); _ = u.Close() })
		p.wg.Go(func() { p.slowCopy(c, u); _ = c.Close() })
	}
}

// slowCopy copies from src to dst, each chunk a latency after it was read.
func (p *slowProxy) slowCopy(dst, src net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			time.Sleep(p.latency) // the simulated distance, not a wait for a condition
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every connection open now; new ones are forwarded as before.
func (p *slowProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
