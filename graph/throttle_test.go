package graph_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
)

// t0 is when the clock of a synctest bubble starts.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// A Retry-After is honoured in full: waited when the call may wait that long, otherwise
// returned at once as a *ThrottledError whose Until later calls honour too.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		maxWait    time.Duration
		timeout    time.Duration // 0: no deadline
		attempts   int
		wantWait   time.Duration // waited, then the second attempt succeeds
		wantUntil  time.Duration // > 0: a *ThrottledError at once, Until = t0 + wantUntil
		wantMsg    string
	}{
		{name: "beyond MaxWait", retryAfter: "12", maxWait: 10 * time.Second, wantUntil: 12 * time.Second,
			wantMsg: "graph: get presences (ids 1-1): throttled: Graph asked to wait until 00:00:12 UTC (Retry-After 12s)"},
		{name: "no MaxWait: 90s in full", retryAfter: "90", wantWait: 90 * time.Second},
		{name: "within MaxWait", retryAfter: "7", maxWait: 10 * time.Second, wantWait: 7 * time.Second},
		{name: "exactly MaxWait", retryAfter: "10", maxWait: 10 * time.Second, wantWait: 10 * time.Second},
		{name: "past the deadline", retryAfter: "30", timeout: 10 * time.Second, wantUntil: 30 * time.Second},
		{name: "HTTP date", retryAfter: t0.Add(20 * time.Second).Format(http.TimeFormat),
			maxWait: 10 * time.Second, wantUntil: 20 * time.Second},
		{name: "last attempt", retryAfter: "2", attempts: 1, wantUntil: 2 * time.Second},
		{name: "a day", retryAfter: "86400", maxWait: 10 * time.Second, wantUntil: 24 * time.Hour,
			wantMsg: "graph: get presences (ids 1-1): throttled: Graph asked to wait until 2000-01-02 00:00:00 UTC (Retry-After 24h0m0s)"},
	}
	for _, tt := range tests {
		// In a synctest bubble: the client waits as in production, and its clock starts at t0.
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newBubbleEnv(t, everything, func(o *graph.Options) { o.MaxWait, o.MaxAttempts = tt.maxWait, tt.attempts })
				e.s.AddUser(graphtest.User{ID: "u1", Availability: "Busy", Activity: "InACall"})
				e.s.AddFault(graphtest.Fault{Path: presencePath, Status: 429, RetryAfter: tt.retryAfter, Times: 1})
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				res, err := e.c.GetPresences(ctx, []string{"u1"})
				if tt.wantUntil == 0 {
					if err != nil || res.Presences["u1"].Activity != "InACall" {
						t.Fatalf("got %v, %v; want u1 after the wait", res, err)
					}
					if got := e.sent.Gaps(); !equal(got, []time.Duration{tt.wantWait}) {
						t.Errorf("waited %v, want %v", got, tt.wantWait)
					}
					if !e.c.NotBefore().IsZero() {
						t.Errorf("NotBefore = %v after a wait that was honoured", e.c.NotBefore())
					}
					return
				}
				var te *graph.ThrottledError
				var ge *graph.Error
				if !errors.As(err, &te) || !errors.As(err, &ge) || ge.Status != 429 || te.Err != ge {
					t.Fatalf("got %v, want a *ThrottledError wrapping the 429", err)
				}
				if want := t0.Add(tt.wantUntil); !te.Until.Equal(want) || !e.c.NotBefore().Equal(want) {
					t.Errorf("Until %v, NotBefore %v; want %v", te.Until, e.c.NotBefore(), want)
				}
				if tt.wantMsg != "" && err.Error() != tt.wantMsg {
					t.Errorf("error %q\nwant   %q", err, tt.wantMsg)
				}
				if waited := time.Since(t0); waited != 0 {
					t.Errorf("returned after %v, want at once", waited)
				}
				if n := len(e.s.Requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		})
	}
}

// What Graph asked for holds for every later call of the run, and the calls after it go out.
func TestThrottledUntilHoldsLaterCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newBubbleEnv(t, everything, func(o *graph.Options) { o.MaxWait, o.Concurrency = 10*time.Second, 1 })
		ids := guids(e.s, 1400, 1400)
		e.s.AddFault(graphtest.Fault{Path: presencePath, Status: 503, RetryAfter: "60", Times: 1})
		_, err := e.c.GetPresences(t.Context(), ids)
		var te *graph.ThrottledError
		if !errors.As(err, &te) || !te.Until.Equal(t0.Add(time.Minute)) {
			t.Fatalf("got %v, want a *ThrottledError until 00:01:00", err)
		}
		if n := len(e.s.Requests()); n != 1 {
			t.Errorf("%d requests, want 1: the other ranges must not be sent before 00:01:00", n)
		}
		if _, err := e.c.ListUsers(t.Context()); !errors.As(err, &te) || te.Err != nil {
			t.Errorf("ListUsers before 00:01:00: %v, want a *ThrottledError without an answer", err)
		}
		if n := len(e.s.Requests()); n != 1 {
			t.Errorf("%d requests, want still 1", n)
		}
		time.Sleep(time.Minute)
		if res, err := e.c.GetPresences(t.Context(), ids); err != nil || len(res.Presences) != 1400 {
			t.Errorf("at 00:01:00: %d presences, %v; want all", len(res.Presences), err)
		}
	})
}

// A time kept from an earlier run: nothing is sent before it, not even a sign-in.
func TestNotBefore(t *testing.T) {
	for _, viaOption := range []bool{false, true} {
		name := "SetNotBefore"
		if viaOption {
			name = "Options.NotBefore"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				until := t0.Add(30 * time.Second)
				e := newBubbleEnv(t, everything, func(o *graph.Options) {
					if viaOption {
						o.NotBefore = until
					}
				})
				if !viaOption {
					e.c.SetNotBefore(until)
				}
				e.s.AddUser(graphtest.User{ID: "u1"})
				ctx := t.Context()
				session := graph.SessionPresence{SessionID: "app", Availability: "Away", Activity: "Away"}
				calls := map[string]func() error{
					"GetPresences":   func() error { _, err := e.c.GetPresences(ctx, []string{"u1"}); return err },
					"ListUsers":      func() error { _, err := e.c.ListUsers(ctx); return err },
					"ListGroupUsers": func() error { _, err := e.c.ListGroupUsers(ctx, "g1"); return err },
					"SetPresence":    func() error { return e.c.SetPresence(ctx, "u1", session) },
					"ClearPresence":  func() error { return e.c.ClearPresence(ctx, "u1", "app") },
				}
				for name, call := range calls {
					err := call()
					var te *graph.ThrottledError
					if !errors.As(err, &te) || !te.Until.Equal(until) || te.Err != nil {
						t.Errorf("%s: %v, want a *ThrottledError until %v", name, err, until)
					}
				}
				if n := len(e.s.Requests()); n != 0 || len(e.tokens.issued) != 0 {
					t.Errorf("%d requests, %d tokens before NotBefore; want none", n, len(e.tokens.issued))
				}
				if e.c.NotBefore() != until {
					t.Errorf("NotBefore() = %v", e.c.NotBefore())
				}
				time.Sleep(30 * time.Second)
				if _, err := e.c.ListUsers(ctx); err != nil {
					t.Fatalf("at NotBefore: %v", err)
				}
				e.c.SetNotBefore(t0.Add(time.Hour))
				e.c.SetNotBefore(time.Time{}) // lifted
				if err := e.c.SetPresence(ctx, "u1", session); err != nil {
					t.Fatalf("after lifting: %v", err)
				}
				if n := len(e.s.Requests()); n != 2 {
					t.Errorf("%d requests, want 2", n)
				}
			})
		})
	}
}

func TestThrottledErrorMessage(t *testing.T) {
	until := time.Date(2025, 3, 1, 9, 0, 12, 0, time.UTC)
	te := &graph.ThrottledError{Until: until}
	if got, want := te.Error(), "graph: throttled: Graph asked to wait until 2025-03-01 09:00:12 UTC (nothing is sent before then)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Unwrap(te) != nil {
		t.Error("Unwrap of a *ThrottledError without an answer is not nil")
	}
}
