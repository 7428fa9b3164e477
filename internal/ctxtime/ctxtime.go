// Package ctxtime holds the one way teamsface waits: for a duration, or until the context ends,
// whichever comes first, so that a SIGTERM or a run's deadline is never stuck behind a retry's
// Retry-After or a reconnect's backoff.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done. It returns nil after d, and ctx.Err() when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
