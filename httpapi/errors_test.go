package httpapi

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/keys"
	"github.com/espresso-auth/espresso/sessions"
)

// TestWriteError_AnswersNamedErrorsFirstThenKindsAndAnythingElseAs5000
// goes through the one error table: the domain's named errors, however
// wrapped, get their own answer even when they share a kind; other errors
// are answered by kind; an unknown kind, or no kind at all, is a bug (5000)
// whose detail never reaches the client.
func TestWriteError_AnswersNamedErrorsFirstThenKindsAndAnythingElseAs5000(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name   string
		err    error
		status int
		code   int
	}{
		{"no such account", espresso.ErrUserNotFound, 404, 4400},
		{"no key", espresso.ErrNoKey, 404, 4404},
		{"no key, wrapped", fmt.Errorf("revoking: %w", espresso.ErrNoKey), 404, 4404},
		{"no key, wrapped with a kind", espresso.Wrap(espresso.NotFound, espresso.ErrNoKey, "looking up"), 404, 4404},
		{"unauthorized", espresso.ErrUnauthorized, 401, 4010},
		{"account exists", espresso.ErrAccountExists, 409, 4090},
		{"spot account exists", espresso.ErrSpotAccountExists, 409, 4090},
		{"no operation key", espresso.ErrNoOperationKey, 404, 4405},
		{"no spot account", espresso.ErrNoSpotAccount, 404, 4406},
		{"token required", espresso.ErrTokenRequired, 403, 4031},
		{"another account", espresso.ErrOtherAccount, 403, 4030},
		{"another Forbidden", espresso.E(espresso.Forbidden, "no"), 403, 4030},
		{"rate limited", espresso.ErrRateLimited, 429, 4290},
		{"another NotFound", espresso.E(espresso.NotFound, "no such thing"), 404, 4040},
		{"invalid address", sessions.ErrInvalidAddress, 400, 4000},
		{"stale replica", keys.ErrStale, 503, 5001},
		{"an API answer", errTooLarge, 413, 4130},
		{"internal", espresso.E(espresso.Internal, "secret detail"), 500, 5000},
		{"no kind", errors.New("secret detail"), 500, 5000},
		{"an unknown kind", espresso.E(espresso.Kind(200), "secret detail"), 500, 5000},
	} {
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest("GET", "/", nil), log, c.err)
		if rec.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.name, rec.Code, c.status)
			continue
		}
		if code, _ := errorBody(t, rec.Body.Bytes()); code != c.code {
			t.Errorf("%s: code %d, want %d", c.name, code, c.code)
		}
		if strings.Contains(rec.Body.String(), "secret detail") {
			t.Errorf("%s: the answer shows the error's detail: %s", c.name, rec.Body)
		}
	}
}

// TestErrorTable_MapsEveryKind: no kind of the domain falls through to the
// unknown-kind answer by omission.
func TestErrorTable_MapsEveryKind(t *testing.T) {
	for k := espresso.Internal; k <= espresso.Forbidden; k++ {
		if _, ok := byKind[k]; !ok {
			t.Errorf("kind %s has no answer", k)
		}
	}
}

// TestErrorBody_CarriesMsgAfterThePlatformsTwoFields: every error the
// server can answer is {"code", "error", "msg"}, byte for byte in that
// order, msg equal to error, so that the platform's Python client (which
// reads code and msg) gets its own error type instead of a KeyError, and
// clients of the seed's two fields see them first and unchanged.
func TestErrorBody_CarriesMsgAfterThePlatformsTwoFields(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, ae := range allErrors {
		rec := httptest.NewRecorder()
		writeError(rec, httptest.NewRequest("GET", "/", nil), log, ae)
		want := fmt.Sprintf(`{"code":%d,"error":%q,"msg":%q}`+"\n", ae.Code, ae.Message, ae.Message)
		if rec.Body.String() != want {
			t.Errorf("%d: body %q, want %q", ae.Code, rec.Body, want)
		}
		if code, msg := errorBody(t, rec.Body.Bytes()); code != ae.Code || msg != ae.Message {
			t.Errorf("%d: decoded as %d %q", ae.Code, code, msg)
		}
	}
}
