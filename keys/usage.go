package keys

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso/apikey"
)

// flushUsage writes the last-use times marked since the previous flush. On
// failure they are marked again for the next one.
func (s *Service) flushUsage(ctx context.Context) {
	s.usedMu.Lock()
	batch := s.used
	s.used = nil
	s.usedMu.Unlock()
	if len(batch) == 0 {
		return
	}
	uses := make(map[apikey.Hash]time.Time, len(batch))
	for _, e := range batch {
		e.dirty.Store(false) // before reading lastUsed: a later use marks it again
		uses[e.hash] = fromMicros(e.lastUsed.Load())
	}
	if err := s.st.RecordUse(ctx, uses); err != nil {
		s.opts.Logger.Warn("recording key use failed; will retry", "keys", len(uses), "err", err)
		for _, e := range batch {
			if e.dirty.CompareAndSwap(false, true) {
				s.usedMu.Lock()
				s.used = append(s.used, e)
				s.usedMu.Unlock()
			}
		}
	}
}
