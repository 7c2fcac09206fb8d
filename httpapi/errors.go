package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/ratelimit"
)

// apiError is an answer in the platform's error format. The codes already
// published by the platform keep their exact numbers and messages
// ("temporaily" included); new ones follow the same scheme (code/10 is the
// HTTP status, or its class) and are listed in the README.
type apiError struct {
	Status  int
	Code    int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// appendJSON encodes the answer as {"code", "error", "msg"}: the platform's
// two fields first, as its clients and the seed's schema have them, then
// "msg" with the same text, which the platform's Python client reads (it
// fails with a KeyError on a 4xx body without it).
func (e *apiError) appendJSON(b []byte) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, e.Message)
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, e.Message)
	return append(b, '}')
}

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

	errForbidden      = &apiError{http.StatusForbidden, 4030, "Forbidden"}
	errTokenRequired  = &apiError{http.StatusForbidden, 4031, "Sign-in token required"}
	errNoOperationKey = &apiError{http.StatusNotFound, 4405, "Operation key not found"}
	errNoSpotAccount  = &apiError{http.StatusNotFound, 4406, "Spot account not found"}
)

// allErrors is every answer above: the codes a client may see.
var allErrors = []*apiError{errInvalid, errUnauthorized, errRateLimited, errUserNotFound, errInternal,
	errUnavailable, errNotFound, errNoKey, errMethodNotAllowed, errConflict, errTooLarge,
	errForbidden, errTokenRequired, errNoOperationKey, errNoSpotAccount}

// byError answers the domain's named errors, the specific meanings first:
// "no such account" and "no key" are both NotFound, but not the same answer.
var byError = []struct {
	err error
	api *apiError
}{
	{espresso.ErrUnauthorized, errUnauthorized},
	{espresso.ErrUserNotFound, errUserNotFound},
	{espresso.ErrNoKey, errNoKey},
	{espresso.ErrAccountExists, errConflict},
	{espresso.ErrRateLimited, errRateLimited},
	{espresso.ErrNoOperationKey, errNoOperationKey},
	{espresso.ErrNoSpotAccount, errNoSpotAccount},
	{espresso.ErrSpotAccountExists, errConflict},
	{espresso.ErrTokenRequired, errTokenRequired},
	{espresso.ErrOtherAccount, errForbidden},
}

// byKind answers any other domain error by its kind. A kind missing here
// is a bug, answered as one (5000).
var byKind = map[espresso.Kind]*apiError{
	espresso.Invalid:      errInvalid,
	espresso.Unauthorized: errUnauthorized,
	espresso.NotFound:     errNotFound,
	espresso.Conflict:     errConflict,
	espresso.RateLimited:  errRateLimited,
	espresso.Unavailable:  errUnavailable,
	espresso.Forbidden:    errForbidden,
	espresso.Internal:     errInternal,
}

// answerFor is the error table: an *apiError answers as itself; then the
// named errors (errors.Is); then the kind; anything else is 5000.
func answerFor(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	for _, e := range byError {
		if errors.Is(err, e.err) {
			return e.api
		}
	}
	if ae, ok := byKind[espresso.KindOf(err)]; ok {
		return ae
	}
	return errInternal
}

// writeError is the one place an error becomes an HTTP answer. Internal and
// unavailable errors are logged with their detail; the client only ever
// sees the code table's message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ae := answerFor(err)
	logRecord(r).setErr(err)
	var refused *ratelimit.Refused
	if errors.As(err, &refused) {
		w.Header().Set("Retry-After", strconv.FormatInt(refused.RetryAfter(), 10))
	}
	switch ae.Status {
	case http.StatusInternalServerError:
		log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "err", err)
	case http.StatusServiceUnavailable:
		log.WarnContext(r.Context(), "dependency unavailable", "route", r.Pattern, "err", err)
	}
	writeJSON(w, ae.Status, ae)
}
