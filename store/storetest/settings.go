package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store"
)

func (h harness) testSetting(t *testing.T) {
	t.Parallel()
	t.Run("a setting is created on first use and then read as stored, from any handle", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		value := []byte("first \x00 value")
		calls := 0
		got, err := d.s.Setting(t.Context(), "jwt-secret", func() ([]byte, error) {
			calls++
			return bytes.Clone(value), nil
		})
		if err != nil || !bytes.Equal(got, value) || calls != 1 {
			t.Fatalf("Setting = %q, %v after %d calls of create; want %q after 1", got, err, calls, value)
		}
		for _, s := range []*store.Store{d.s, d.handle(t)} {
			got, err := s.Setting(t.Context(), "jwt-secret", func() ([]byte, error) {
				t.Error("create called for a stored setting")
				return []byte("other"), nil
			})
			if err != nil || !bytes.Equal(got, value) {
				t.Errorf("Setting again = %q, %v; want %q", got, err, value)
			}
		}
	})

	t.Run("settings of different names are independent", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		for _, name := range []string{"a", "b", "a"} {
			got, err := d.s.Setting(t.Context(), name, func() ([]byte, error) { return []byte("value of " + name), nil })
			if err != nil || string(got) != "value of "+name {
				t.Errorf("Setting(%q) = %q, %v", name, got, err)
			}
		}
	})

	t.Run("concurrent get-or-create from two handles all get one value", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		got := make([][]byte, 16)
		race(len(got), []*store.Store{d.s, d.handle(t)}, func(i int, s *store.Store) {
			v, err := s.Setting(t.Context(), "instance-id", func() ([]byte, error) { return []byte(newNonce()), nil })
			if err != nil {
				t.Errorf("Setting %d: %v", i, err)
			}
			got[i] = v
		})
		for i := range got {
			if len(got[i]) == 0 || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("caller %d got %q, caller 0 got %q", i, got[i], got[0])
			}
		}
	})

	t.Run("a failing create returns its error and stores nothing", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		boom := errors.New("no entropy today")
		_, err := d.s.Setting(t.Context(), "jwt-secret", func() ([]byte, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("Setting = %v, want an error wrapping create's", err)
		}
		got, err := d.s.Setting(t.Context(), "jwt-secret", func() ([]byte, error) { return []byte("v"), nil })
		if err != nil || string(got) != "v" {
			t.Errorf("Setting after the failure = %q, %v; want %q", got, err, "v")
		}
	})
}

func (h harness) testPing(t *testing.T) {
	t.Parallel()
	t.Run("an open handle answers a ping", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		for _, s := range []*store.Store{d.s, d.handle(t)} {
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		}
	})
}

func (h harness) testWatch(t *testing.T) {
	t.Parallel()
	if !h.Pushes {
		t.Run("on a database that does not push changes, Watch returns at once without calling notify", func(t *testing.T) {
			t.Parallel()
			d := h.fresh(t)
			returned := make(chan struct{})
			go func() {
				defer close(returned)
				d.s.Watch(t.Context(), func(missed bool) { t.Errorf("Watch called notify(%v)", missed) })
			}()
			select {
			case <-returned:
			case <-time.After(30 * time.Second):
				t.Fatal("Watch had not returned 30s after it was called, its context still live")
			}
		})
		return
	}

	t.Run("a watcher is told of events committed through another handle and stops with its context", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		notified := make(chan bool, 1)
		var inNotify atomic.Bool
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			d.s.Watch(ctx, func(missed bool) {
				if !inNotify.CompareAndSwap(false, true) {
					t.Error("Watch called notify concurrently with itself")
				}
				defer inNotify.Store(false)
				select {
				case notified <- missed:
				default:
				}
			})
		}()
		// Watch says nothing when it starts listening, so write until it
		// reports a write (a "missed" report may come first, as it starts).
		other := d.handle(t)
		deadline := time.After(30 * time.Second)
		for seen := false; !seen; {
			createAccount(t, other, ptr(newKey()))
			select {
			case missed := <-notified:
				seen = !missed
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatal("Watch reported no write within 30s")
			}
		}
		cancel()
		select {
		case <-returned:
		case <-time.After(30 * time.Second):
			t.Fatal("Watch did not return within 30s of its context ending")
		}
	})

	t.Run("a watcher stops when its store is closed", func(t *testing.T) {
		t.Parallel()
		d := h.fresh(t)
		s := d.handle(t)
		started := make(chan struct{}, 1)
		returned := make(chan struct{})
		go func() {
			defer close(returned)
			s.Watch(t.Context(), func(bool) {
				select {
				case started <- struct{}{}:
				default:
				}
			})
		}()
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("Watch did not report that it listens within 30s")
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case <-returned:
		case <-time.After(30 * time.Second):
			t.Fatal("Watch did not return within 30s of its store being closed")
		}
	})
}
