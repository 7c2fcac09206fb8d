package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
	"unicode/utf8"
)

// writeJSON answers status with v as JSON. Every answer is JSON and none may
// be cached: some carry keys, and a stale verification answer is wrong.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	var err error
	if a, ok := v.(jsonAppender); ok {
		body = a.appendJSON(make([]byte, 0, 256))
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		// Only our own response types reach here; they always marshal.
		body = errInternal.appendJSON(nil)
		status = http.StatusInternalServerError
	}
	writeBody(w, status, body)
	_, _ = io.WriteString(w, "\n")
}

// writeBody answers status with a JSON body, with the headers every answer
// carries.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonAppender is implemented by answers on hot paths that encode
// themselves exactly as encoding/json would, only faster.
type jsonAppender interface{ appendJSON([]byte) []byte }

// appendJSONString appends s as a JSON string, exactly as json.Marshal
// would: a string that needs no escaping (the usual case) is copied as it
// is, any other goes through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return appendMarshaled(dst, s)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return appendMarshaled(dst, s)
		}
		i += size
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendMarshaled(dst []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(dst, q...)
}

// timestamp formats t as the platform does: RFC 3339, UTC, whole seconds
// ("2024-01-01T00:00:00Z"), which clients with fixed-layout parsers accept.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// appendTimestamp appends timestamp(t) as a JSON string.
func appendTimestamp(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339)
	return append(b, '"')
}
