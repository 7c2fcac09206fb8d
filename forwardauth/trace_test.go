package forwardauth_test

import (
	"context"
	"net/http/httptrace"
)

// httptraceCounting returns ctx that counts, in *n, the new connections its
// requests open.
func httptraceCounting(ctx context.Context, n *int) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if !info.Reused {
				*n++
			}
		},
	})
}
