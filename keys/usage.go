package keys

import (
	"context"
)

// flushUsage writes the last-use times marked since the previous flush. On
// failure they are marked again for the next one.
func (s *Service) flushUsage(ctx context.Context) {
	uses := s.rep.takeUses()
	if len(uses) == 0 {
		return
	}
	if err := s.st.RecordUse(ctx, uses); err != nil {
		s.opts.Logger.Warn("recording key use failed; will retry", "keys", len(uses), "err", err)
		s.rep.markUses(uses)
	}
}
