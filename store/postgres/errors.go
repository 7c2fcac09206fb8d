package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/espresso-auth/espresso"
)

// Unavailable implements store.Driver (see unavailable).
func (d *driver) Unavailable(err error) bool { return unavailable(err) }

// unavailable reports whether err means that the database could not be
// reached, or could not serve the request now, rather than that the request
// or the code is wrong: a failed connection attempt, a broken or timed-out
// connection, a context that ended, a server shutting down, starting up,
// out of connections or read-only (a standby after a failover), and
// transactions that lost a serialisation or deadlock race more often than
// the store retries.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		}
		switch pgErr.Code {
		case "57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03", // cannot_connect_now
			"57P05", // idle_session_timeout
			"57014", // query_canceled (statement_timeout, pg_cancel_backend)
			"53300", // too_many_connections
			"25006", // read_only_sql_transaction: a standby
			"40001", // serialization_failure
			"40P01": // deadlock_detected
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr),
		errors.As(err, &netErr),
		pgconn.Timeout(err),
		pgconn.SafeToRetry(err),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return true
	}
	// pgx reports use of a connection it has closed after a network error
	// with an unexported error type.
	return strings.Contains(err.Error(), "conn closed")
}

// retryable reports whether a call that failed with err may be tried again
// at once, on another connection: the database rolled the transaction back
// (serialisation failure, deadlock), or the connection failed or was ended
// by the server (before any commit was attempted), as a pooled connection
// does when the server restarted while it was idle; not when the context
// ended, nor for the store's own answers. Commit failures are wrapped in
// commitError, which is never retryable, since the commit may have happened.
func retryable(err error) bool {
	var ce commitError
	var answer *espresso.Error // the store's answer, such as ErrKeyNotLive
	if errors.As(err, &ce) || errors.As(err, &answer) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return unavailable(err)
}

// commitError marks an error returned by COMMIT: the transaction's outcome
// is unknown when the connection failed during it.
type commitError struct{ err error }

func (e commitError) Error() string { return "commit: " + e.err.Error() }
func (e commitError) Unwrap() error { return e.err }
