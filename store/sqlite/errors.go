package sqlite

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/espresso-auth/espresso"
)

// classify turns err into an *espresso.Error: errors that already are one
// (the store's sentinels) pass through; a lock still held when the busy
// timeout ran out, and a context that ended, are Unavailable; anything else
// is Internal. op names the operation for the logs. SQLite's messages name
// tables and columns, never values, so no hash reaches an error.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *espresso.Error
	if errors.As(err, &e) {
		return err
	}
	msg := "sqlite: " + op
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return espresso.Wrap(espresso.Unavailable, err, msg)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return espresso.Wrap(espresso.Unavailable, err, msg+": the database is locked")
		case sqlite3.SQLITE_INTERRUPT:
			return espresso.Wrap(espresso.Unavailable, err, msg+": interrupted")
		}
	}
	return espresso.Wrap(espresso.Internal, err, msg)
}
