package onehubstate

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/starface/onehub"
)

// step is one thing scriptedHub's event stream does, at a time after Watch started.
type step struct {
	at   time.Duration
	kind onehub.EventKind // EventConnected (after the current states), EventDisconnected or EventState
	dnd  bool             // EventState: user 2's DND
}

// scriptedHub plays starface/onehub.Client inside a synctest bubble, where the gRPC double's
// real sockets cannot be (a goroutine reading a socket is not durably blocked, so the bubble's
// clock would never move). Its Watch follows the documented contract, on a timetable: the
// current states as Initial events, then EventConnected; EventDisconnected when the stream
// breaks; changes as EventState. Each user has DND off until a step says otherwise.
type scriptedHub struct {
	steps []step
	reads atomic.Int64 // ReadPresence calls
}

func (h *scriptedHub) LookupIDs(context.Context, []string) (map[string]string, error) {
	return nil, errors.New("scriptedHub: the tests give every user a OneHub id")
}

func (h *scriptedHub) ReadPresence(_ context.Context, ids []string) (map[string]onehub.UserState, error) {
	h.reads.Add(1)
	out := make(map[string]onehub.UserState, len(ids))
	for _, id := range ids {
		out[id] = onehub.UserState{Telephony: onehub.TelephonyAvailable}
	}
	return out, nil
}

func (h *scriptedHub) Watch(ctx context.Context, ids []string, events chan<- onehub.Event) error {
	start := time.Now()
	send := func(ev onehub.Event) bool {
		ev.At = time.Now()
		select {
		case events <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, st := range h.steps {
		select {
		case <-time.After(st.at - time.Since(start)):
		case <-ctx.Done():
			return nil
		}
		switch st.kind {
		case onehub.EventConnected:
			for _, id := range ids {
				off, avail := false, onehub.TelephonyAvailable
				if !send(onehub.Event{Kind: onehub.EventState, OneHubID: id, DND: &off, Telephony: &avail, Initial: true}) {
					return nil
				}
			}
			if !send(onehub.Event{Kind: onehub.EventConnected}) {
				return nil
			}
		case onehub.EventDisconnected:
			if !send(onehub.Event{Kind: onehub.EventDisconnected, Err: errors.New("stream broke")}) {
				return nil
			}
		case onehub.EventState:
			if !send(onehub.Event{Kind: onehub.EventState, OneHubID: "onehub-2", DND: &st.dnd}) {
				return nil
			}
		}
	}
	<-ctx.Done()
	return nil
}

// A pass right after `sync watch` (re)started the stream waits for it instead of reading
// beside it, for up to 2 s, and is woken the moment the stream connects or goes down. The
// bubble's clock makes the waits exact and the test instant.
func TestPassWaitsForANewStream(t *testing.T) {
	users := []pass.OneHubUser{{StarfaceID: 2, OneHubID: "onehub-2"}, {StarfaceID: 3, OneHubID: "onehub-3"}}
	tests := []struct {
		name       string
		steps      []step
		follow     time.Duration // Follow is called this long before the pass (0: just before)
		wantWait   time.Duration
		wantStream bool   // answered from the stream, without a one-shot read
		wantErr    string // the pass falls back to REST with this error
		wantDND2   bool
	}{
		{name: "connects after 1.5s: the pass waits for it and answers from the stream",
			steps: []step{{at: 1500 * time.Millisecond, kind: onehub.EventConnected}}, wantWait: 1500 * time.Millisecond, wantStream: true},
		{name: "connected already: answered at once, with the changes since",
			steps:  []step{{at: 100 * time.Millisecond, kind: onehub.EventConnected}, {at: 200 * time.Millisecond, kind: onehub.EventState, dnd: true}},
			follow: time.Second, wantStream: true, wantDND2: true},
		{name: "not connected within 2s: the pass falls back after 2s",
			steps: []step{{at: 2500 * time.Millisecond, kind: onehub.EventConnected}}, wantWait: 2 * time.Second,
			wantErr: "the OneHub event stream did not connect within 2s"},
		{name: "never connects: the pass falls back after 2s",
			wantWait: 2 * time.Second, wantErr: "the OneHub event stream did not connect within 2s"},
		{name: "goes down while set up: the pass falls back at once",
			steps: []step{{at: 300 * time.Millisecond, kind: onehub.EventDisconnected}}, wantWait: 300 * time.Millisecond,
			wantErr: "the OneHub event stream is not connected"},
		{name: "down since before the pass: it falls back without waiting",
			steps:  []step{{at: 100 * time.Millisecond, kind: onehub.EventDisconnected}},
			follow: time.Second, wantErr: "the OneHub event stream is not connected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hub := &scriptedHub{steps: tt.steps}
				src := New(hub, slog.New(slog.DiscardHandler))
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				src.Follow(ctx, users)
				time.Sleep(tt.follow)

				start := time.Now()
				states, _, err := src.States(ctx, users)
				if waited := time.Since(start); waited != tt.wantWait {
					t.Errorf("the pass waited %v, want %v", waited, tt.wantWait)
				}
				if tt.wantErr != "" {
					if err == nil || err.Error() != tt.wantErr {
						t.Fatalf("States = %v, want the error %q", err, tt.wantErr)
					}
					if src.Stats().Fallbacks == 0 {
						t.Error("the fallback was not counted")
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if fromStream := err == nil && hub.reads.Load() == 0; fromStream != tt.wantStream {
					t.Errorf("answered from the stream: %v (one-shot reads %d), want %v", fromStream, hub.reads.Load(), tt.wantStream)
				}
				if err == nil && (len(states) != 2 || states[2].DND != tt.wantDND2) {
					t.Errorf("states %+v, want both users, user 2 with DND %v", states, tt.wantDND2)
				}
			})
		})
	}
}

// A pass that waits for a stream which sync watch meanwhile replaces (the users changed) does
// not wait for the new one: it reads once, at once. One whose context ends stops waiting.
func TestPassStopsWaitingWhenTheStreamIsReplacedOrTheContextEnds(t *testing.T) {
	users := []pass.OneHubUser{{StarfaceID: 2, OneHubID: "onehub-2"}}
	synctest.Test(t, func(t *testing.T) {
		hub := &scriptedHub{}
		src := New(hub, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src.Follow(ctx, users)
		go func() {
			time.Sleep(500 * time.Millisecond)
			src.Follow(ctx, append(users, pass.OneHubUser{StarfaceID: 3, OneHubID: "onehub-3"}))
		}()
		start := time.Now()
		if _, _, err := src.States(ctx, users); err != nil || hub.reads.Load() != 1 {
			t.Fatalf("States = %v with %d one-shot reads, want one read", err, hub.reads.Load())
		}
		if waited := time.Since(start); waited != 500*time.Millisecond {
			t.Errorf("the pass waited %v, want 500ms (until the stream was replaced)", waited)
		}

		// Now following users 2 and 3, not yet connected: the pass's context ends after 1s.
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		start = time.Now()
		_, _, err := src.States(pctx, append(users, pass.OneHubUser{StarfaceID: 3, OneHubID: "onehub-3"}))
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("States = %v after %v, want the context's deadline after 1s", err, time.Since(start))
		}
		src.Stop()
	})
}

// sync watch follows no one when no user is matched: the next pass, for no one, does not wait
// for a stream that Follow never started.
func TestPassForNoOneDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := &scriptedHub{}
		src := New(hub, slog.New(slog.DiscardHandler))
		src.Follow(t.Context(), nil)
		start := time.Now()
		states, _, err := src.States(t.Context(), nil)
		if err != nil || len(states) != 0 || time.Since(start) != 0 {
			t.Errorf("States = %v, %v after %v; want nothing, at once", states, err, time.Since(start))
		}
	})
}
