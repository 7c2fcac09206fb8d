package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/espresso-auth/espresso"
)

// apiError is an answer in the platform's error format. The codes already
// published by the platform keep their exact numbers and messages
// ("temporaily" included); new ones follow the same scheme (code/10 is the
// HTTP status, or its class) and are listed in the README.
type apiError struct {
	Status  int    `json:"-"`
	Code    int    `json:"code"`
	Message string `json:"error"`
}

func (e *apiError) Error() string { return e.Message }

// The platform's codes, then ours.
var (
	errInvalid      = &apiError{http.StatusBadRequest, 4000, "Invalid request data"}
	errUnauthorized = &apiError{http.StatusUnauthorized, 4010, "Unauthorized access"}
	errRateLimited  = &apiError{http.StatusTooManyRequests, 4290, "Rate limit exceeded, please try again later"}
	errUserNotFound = &apiError{http.StatusNotFound, 4400, "User not found"}
	errInternal     = &apiError{http.StatusInternalServerError, 5000, "Internal Server Error"}
	errUnavailable  = &apiError{http.StatusServiceUnavailable, 5001, "System resources temporaily unavailable"}

	errNotFound         = &apiError{http.StatusNotFound, 4040, "Not found"}
	errNoKey            = &apiError{http.StatusNotFound, 4404, "API key not found"}
	errMethodNotAllowed = &apiError{http.StatusMethodNotAllowed, 4050, "Method not allowed"}
	errConflict         = &apiError{http.StatusConflict, 4090, "Conflict"}
	errTooLarge         = &apiError{http.StatusRequestEntityTooLarge, 4130, "Request body too large"}
)

// byKind answers a domain error that is not already an *apiError.
var byKind = map[espresso.Kind]*apiError{
	espresso.Invalid:      errInvalid,
	espresso.Unauthorized: errUnauthorized,
	espresso.NotFound:     errUserNotFound,
	espresso.Conflict:     errConflict,
	espresso.RateLimited:  errRateLimited,
	espresso.Unavailable:  errUnavailable,
	espresso.Internal:     errInternal,
}

// writeError is the one place an error becomes an HTTP answer. Internal and
// unavailable errors are logged with their detail; the client only ever
// sees the code table's message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = byKind[espresso.KindOf(err)]
	}
	logRecord(r).setErr(err)
	switch ae.Status {
	case http.StatusInternalServerError:
		log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
	case http.StatusServiceUnavailable:
		log.WarnContext(r.Context(), "dependency unavailable", "route", r.Pattern, "err", err)
	}
	writeJSON(w, ae.Status, ae)
}
