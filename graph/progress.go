package graph

import "context"

type progressKey struct{}

// WithProgress returns a context under which long reads report how far they got: listing users
// after each page (total 0: unknown), reading presences after each request (of total). The
// command line uses it for a progress line on a terminal; fn must be safe for concurrent calls.
func WithProgress(ctx context.Context, fn func(done, total int)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

func reportProgress(ctx context.Context, done, total int) {
	if fn, ok := ctx.Value(progressKey{}).(func(done, total int)); ok && fn != nil {
		fn(done, total)
	}
}
