package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// How Watch reconnects and checks its connection.
const (
	// watchMinBackoff and watchMaxBackoff bound the wait between two failed
	// attempts to listen again; it doubles from the first to the second.
	watchMinBackoff = 50 * time.Millisecond
	watchMaxBackoff = time.Second
	// watchKeepalive is how long Watch waits for a notification before it
	// pings its connection to find out whether it is still alive (a
	// connection can die without a word, e.g. behind a dropped route).
	watchKeepalive = 15 * time.Second
)

// channelQuery names the notification channel of the schema that holds
// key_events (or, before Migrate, of the current schema) exactly as the
// key_events_notify trigger does.
const channelQuery = `SELECT 'espresso_keys_' || left(md5(coalesce(
	(SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = to_regclass('key_events')),
	current_schema())), 16)`

// Watch implements store.Watcher with LISTEN on a dedicated connection (not
// one of the pool's). It calls notify(true) each time it starts listening,
// the first time included, since notifications sent while it was not may be
// lost; then notify(false) for each notification (several already received
// together give one call). When the connection fails, or a ping after
// watchKeepalive of silence does, it connects again, at once the first time
// and then after waits doubling from watchMinBackoff to watchMaxBackoff.
// It returns when ctx ends or the Store is closed.
func (d *driver) Watch(ctx context.Context, notify func(missed bool)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-d.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	backoff := time.Duration(0)
	for {
		conn, listen, err := d.listen(ctx)
		if err == nil {
			d.marks.Add(1)
			d.listening.Store(true)
			notify(true)
			start := time.Now()
			d.follow(ctx, conn, listen, notify)
			d.listening.Store(false)
			d.answerSyncs(false)
			closeConn(conn)
			if time.Since(start) > watchMaxBackoff {
				backoff = 0 // it lived: try again at once
			}
		}
		if ctx.Err() != nil {
			return
		}
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		backoff = min(max(2*backoff, watchMinBackoff), watchMaxBackoff)
	}
}

// listen connects and starts listening on the channel of the store's
// schema, within the store's timeout. It returns the LISTEN statement too.
func (d *driver) listen(ctx context.Context) (*pgx.Conn, string, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, d.listenCfg)
	if err != nil {
		return nil, "", err
	}
	var channel, listen string
	err = conn.QueryRow(ctx, channelQuery).Scan(&channel)
	if err == nil {
		listen = "LISTEN " + pgx.Identifier{channel}.Sanitize()
		_, err = conn.Exec(ctx, listen)
	}
	if err != nil {
		closeConn(conn)
		return nil, "", err
	}
	d.listenerPID.Store(conn.PgConn().PID())
	return conn, listen, nil
}

// follow calls notify(false) for notifications on conn until ctx ends or
// conn fails, and answers FeedMark's syncs with a round trip on conn: the
// LISTEN statement again, a no-op that leaves the session looking as it
// did (pg_stat_activity shows the LISTEN as its last query).
func (d *driver) follow(ctx context.Context, conn *pgx.Conn, listen string, notify func(missed bool)) {
	var pending []chan bool // syncs taken, to answer once the round trip is back
	defer func() { answer(pending, false) }()
	for {
		wctx, cancel := context.WithTimeout(ctx, watchKeepalive)
		d.syncMu.Lock()
		d.interrupt = cancel
		if len(d.syncs) > 0 {
			cancel()
		}
		d.syncMu.Unlock()
		_, err := conn.WaitForNotification(wctx)
		d.syncMu.Lock()
		d.interrupt = nil
		// Only the syncs asked for before the round trip starts can be
		// answered by it.
		pending = d.syncs
		d.syncs = nil
		d.syncMu.Unlock()
		cancel()
		syncing := len(pending) > 0
		switch {
		case err == nil:
			drain(conn) // several already received give one call
			d.marks.Add(1)
			notify(false)
		case ctx.Err() != nil:
			return
		case conn.IsClosed() || !(pgconn.Timeout(err) || syncing && errors.Is(err, context.Canceled)):
			return // the connection is gone
		case !syncing: // silence: is the connection still alive?
			pctx, cancel := context.WithTimeout(ctx, d.timeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		}
		if syncing {
			// The server sends the notifications it has for this session
			// before it answers: once the round trip is back, every
			// notification for a commit before the sync asked has arrived.
			pctx, cancel := context.WithTimeout(ctx, d.timeout)
			_, err := conn.Exec(pctx, listen, pgx.QueryExecModeSimpleProtocol)
			cancel()
			if err != nil {
				return
			}
			if drain(conn) {
				d.marks.Add(1)
				notify(false)
			}
			answer(pending, true)
			pending = nil
		}
	}
}

// answer answers FeedMark calls waiting for a sync.
func answer(syncs []chan bool, ok bool) {
	for _, c := range syncs {
		c <- ok
	}
}

// answerSyncs answers every FeedMark waiting for a sync.
func (d *driver) answerSyncs(ok bool) {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	answer(d.syncs, ok)
	d.syncs = nil
}

// FeedMark implements store.Marker: the count of notifications Watch has
// received, while it listens. A sync interrupts the listening connection's
// wait for a round trip on it (calls at the same time share one).
func (d *driver) FeedMark(ctx context.Context, sync bool) (uint64, bool) {
	if !d.listening.Load() {
		return 0, false
	}
	if !sync {
		return d.marks.Load(), true
	}
	done := make(chan bool, 1)
	d.syncMu.Lock()
	d.syncs = append(d.syncs, done)
	if d.interrupt != nil {
		d.interrupt()
	}
	d.syncMu.Unlock()
	if !d.listening.Load() {
		// The connection ended after the first look, perhaps after its
		// syncs were answered: nobody may answer this one soon.
		return 0, false
	}
	t := time.NewTimer(d.timeout)
	defer t.Stop()
	select {
	case ok := <-done:
		return d.marks.Load(), ok && d.listening.Load()
	case <-ctx.Done():
	case <-t.C:
	case <-d.done:
	}
	return 0, false
}

// drain discards the notifications conn has already received, and
// reports whether there were any: with an ended context,
// WaitForNotification returns one already received, if any, without
// reading the connection.
func drain(conn *pgx.Conn) bool {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for any := false; ; any = true {
		if _, err := conn.WaitForNotification(ended); err != nil {
			return any
		}
	}
}

// closeConn closes conn, waiting at most a second for the server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is closed either way
}
