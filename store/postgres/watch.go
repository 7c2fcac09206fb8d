package postgres

import (
	"context"
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
		conn, err := d.listen(ctx)
		if err == nil {
			notify(true)
			start := time.Now()
			d.follow(ctx, conn, notify)
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
// schema, within the store's timeout.
func (d *driver) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, d.listenCfg)
	if err != nil {
		return nil, err
	}
	var channel string
	err = conn.QueryRow(ctx, channelQuery).Scan(&channel)
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
	}
	if err != nil {
		closeConn(conn)
		return nil, err
	}
	d.listenerPID.Store(conn.PgConn().PID())
	return conn, nil
}

// follow calls notify(false) for notifications on conn until ctx ends or
// conn fails.
func (d *driver) follow(ctx context.Context, conn *pgx.Conn, notify func(missed bool)) {
	for {
		wctx, cancel := context.WithTimeout(ctx, watchKeepalive)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			drain(conn)
			notify(false)
		case ctx.Err() != nil:
			return
		case conn.IsClosed() || !pgconn.Timeout(err):
			return // the connection is gone
		default: // silence: is the connection still alive?
			pctx, cancel := context.WithTimeout(ctx, d.timeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// drain discards the notifications conn has already received: with an
// ended context, WaitForNotification returns one already received, if any,
// without reading the connection.
func drain(conn *pgx.Conn) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		if _, err := conn.WaitForNotification(ended); err != nil {
			return
		}
	}
}

// closeConn closes conn, waiting at most a second for the server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is closed either way
}
