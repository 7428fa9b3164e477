package onehub_test

import (
	"context"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface/onehub"
)

// watch runs Client.Watch in the background.
type watch struct {
	t      *testing.T
	ctx    context.Context
	events chan onehub.Event
	cancel context.CancelFunc
	done   chan error
}

// startWatch starts Watch in a synctest bubble (inBubble): its backoffs pass on the bubble's
// clock, which the tests read to see how long it waited.
func startWatch(t *testing.T, f *fixture, ids []string) (*watch, *onehub.Client) {
	t.Helper()
	// A deadline well past any wait of these tests: an event that never comes fails the test
	// once every goroutine waits, instead of hanging it.
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Minute)
	t.Cleanup(wcancel)
	w := &watch{t: t, ctx: wctx, events: make(chan onehub.Event, 100), done: make(chan error, 1)}
	c := f.dial(t, nil)
	ctx, cancel := context.WithCancel(w.ctx)
	w.cancel = cancel
	go func() { w.done <- c.Watch(ctx, ids, w.events) }()
	t.Cleanup(func() { cancel(); <-w.done })
	return w, c
}

// next returns the next event.
func (w *watch) next() onehub.Event {
	w.t.Helper()
	select {
	case ev := <-w.events:
		return ev
	case <-w.ctx.Done():
		w.t.Fatal("no event before the test's deadline")
	}
	return onehub.Event{}
}

// connected reads the initial states up to EventConnected and returns them by OneHub id.
func (w *watch) connected() map[string]onehub.Event {
	w.t.Helper()
	states := map[string]onehub.Event{}
	for {
		ev := w.next()
		switch {
		case ev.Kind == onehub.EventConnected:
			return states
		case ev.Kind == onehub.EventState && ev.Initial:
			states[ev.OneHubID] = ev
		default:
			w.t.Fatalf("before EventConnected: %+v", ev)
		}
	}
}

// change returns the next event that is not an initial state (the double also announces each
// new subscription on the stream, and those may come after EventConnected).
func (w *watch) change() onehub.Event {
	w.t.Helper()
	for {
		if ev := w.next(); !(ev.Kind == onehub.EventState && ev.Initial) {
			return ev
		}
	}
}

func (w *watch) stop() error {
	w.cancel()
	select {
	case err := <-w.done:
		w.done <- err // for the cleanup
		return err
	case <-w.ctx.Done():
		w.t.Fatal("Watch did not return after its context ended")
	}
	return nil
}

func wantState(t *testing.T, ev onehub.Event, id string, dnd *bool, tel *onehub.TelephonyState) {
	t.Helper()
	if ev.Kind != onehub.EventState || ev.OneHubID != id || ev.Initial {
		t.Fatalf("event %+v, want a change of %s", ev, id)
	}
	if (dnd == nil) != (ev.DND == nil) || (dnd != nil && *dnd != *ev.DND) {
		t.Errorf("DND %v, want %v", ptrStr(ev.DND), ptrStr(dnd))
	}
	if (tel == nil) != (ev.Telephony == nil) || (tel != nil && *tel != *ev.Telephony) {
		t.Errorf("telephony %v, want %v", ptrStr(ev.Telephony), ptrStr(tel))
	}
	if ev.At.IsZero() {
		t.Error("event without a time")
	}
}

func ptrStr[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// between says whether d is within [lo, hi].
func between(d, lo, hi time.Duration) bool { return lo <= d && d <= hi }

func TestWatch(t *testing.T) {
	inBubble(t, 4, func(t *testing.T, f *fixture) {
		ids := []string{f.oh.OneHubID(1), f.oh.OneHubID(2), f.oh.OneHubID(3)} // user 4 is not watched
		w, c := startWatch(t, f, ids)

		states := w.connected()
		if len(states) != 3 {
			t.Fatalf("initial states of %d users, want 3", len(states))
		}
		if s := states[ids[2]]; s.DND == nil || !*s.DND || s.Telephony == nil || *s.Telephony != onehub.TelephonyAvailable {
			t.Errorf("initial state of user 3: %+v, want DND on, available", s)
		}
		if err := f.oh.WaitStreams(w.ctx, 1); err != nil {
			t.Fatal(err)
		}

		f.rest.OnCall(1, true)
		wantState(t, w.change(), ids[0], nil, ptr(onehub.TelephonyActive))
		f.rest.OnCall(4, true) // not watched: nothing arrives
		f.rest.OnCall(1, false)
		wantState(t, w.change(), ids[0], nil, ptr(onehub.TelephonyAvailable))
		f.rest.SetDND(2, true)
		wantState(t, w.change(), ids[1], ptr(true), nil)
		f.rest.SetDND(2, true) // no change, no event
		f.rest.SetDND(2, false)
		wantState(t, w.change(), ids[1], ptr(false), nil)

		// The stream breaks: one EventDisconnected, the first backoff (1s, up to a fifth
		// shorter), a new stream and subscription.
		f.oh.DropStreams()
		ev := w.change()
		if ev.Kind != onehub.EventDisconnected || !onehub.IsUnavailable(ev.Err) {
			t.Fatalf("after the drop: %+v, want EventDisconnected (unavailable)", ev)
		}
		down := time.Now()
		if states := w.connected(); len(states) != 3 {
			t.Errorf("after reconnecting: states of %d users, want 3", len(states))
		}
		if d := time.Since(down); !between(d, 800*time.Millisecond, time.Second) {
			t.Errorf("reconnected %v after the drop, want after the first backoff (0.8s to 1s)", d)
		}
		if err := f.oh.WaitStreams(w.ctx, 1); err != nil {
			t.Fatal(err)
		}
		f.rest.SetTelephonyState(3, "ringing")
		wantState(t, w.change(), ids[2], nil, ptr(onehub.TelephonyRinging))

		if err := w.stop(); err != nil {
			t.Errorf("Watch returned %v after its context ended, want nil", err)
		}
		if subs := f.oh.Subscriptions(); len(subs) != 0 {
			t.Errorf("still subscribed to %v after Watch stopped", subs)
		}
		st := c.Stats()
		if st.Reconnects != 1 || st.Events < 5 {
			t.Errorf("stats %+v, want 1 reconnect and at least 5 events", st)
		}
		if n := f.oh.CountCalls(eventsMethod); n != 2 {
			t.Errorf("%d event streams opened, want 2", n)
		}
	})
}

// A refused subscription is one outage (the caller falls back to REST) however often the
// retries fail, each after a longer backoff, and Watch connects once it is allowed.
func TestWatchPermissionDeniedThenAllowed(t *testing.T) {
	inBubble(t, 2, func(t *testing.T, f *fixture) {
		f.oh.AllowSubscriptionsOnly(1)
		ids := []string{f.oh.OneHubID(1), f.oh.OneHubID(2)}
		start := time.Now()
		w, _ := startWatch(t, f, ids)

		ev := w.next()
		if ev.Kind != onehub.EventDisconnected || !onehub.IsPermissionDenied(ev.Err) {
			t.Fatalf("first event %+v, want EventDisconnected (permission denied)", ev)
		}
		// Attempts at 0s, after a backoff of 1s and one of 2s (each up to a fifth shorter):
		// three refused by 4s, and the fourth after one more backoff of 4s, at 5.6s to 7s.
		time.Sleep(4 * time.Second)
		if n := f.oh.CountCalls(subscribeMethod); n != 3 {
			t.Errorf("%d subscribe calls in 4s, want 3 (backoffs of 1s and 2s)", n)
		}
		f.oh.AllowSubscriptionsOnly()
		// Nothing but the initial states and EventConnected: no second EventDisconnected.
		if states := w.connected(); len(states) != 2 {
			t.Errorf("initial states of %d users, want 2", len(states))
		}
		if d := time.Since(start); !between(d, 5600*time.Millisecond, 7*time.Second) {
			t.Errorf("connected after %v, want after backoffs of 1s, 2s and 4s (5.6s to 7s)", d)
		}
		if n := f.oh.CountCalls(subscribeMethod); n != 4 {
			t.Errorf("%d subscribe calls, want 4 (3 refused)", n)
		}
	})
}

func TestWatchWhileDown(t *testing.T) {
	inBubble(t, 1, func(t *testing.T, f *fixture) {
		f.oh.SetDown(true)
		start := time.Now()
		w, _ := startWatch(t, f, []string{f.oh.OneHubID(1)})
		ev := w.next()
		if ev.Kind != onehub.EventDisconnected || !onehub.IsUnavailable(ev.Err) {
			t.Fatalf("first event %+v, want EventDisconnected (unavailable)", ev)
		}
		f.oh.SetDown(false) // while Watch waits its first backoff
		if states := w.connected(); len(states) != 1 {
			t.Errorf("initial states of %d users, want 1", len(states))
		}
		if d := time.Since(start); !between(d, 800*time.Millisecond, time.Second) {
			t.Errorf("connected after %v, want after the first backoff (0.8s to 1s)", d)
		}
	})
}

// A refused token is dropped and the stream reopened at once with a fresh one: no second outage
// reported, no backoff.
func TestWatchExpiredToken(t *testing.T) {
	inBubble(t, 1, func(t *testing.T, f *fixture) {
		id := f.oh.OneHubID(1)
		w, c := startWatch(t, f, []string{id})
		w.connected()
		if err := f.oh.WaitStreams(w.ctx, 1); err != nil {
			t.Fatal(err)
		}
		f.oh.ExpireTokens()
		f.oh.DropStreams() // as a PBX might end a stream whose token expired

		// The drop is an outage (it is not UNAUTHENTICATED); the reconnect finds the token
		// expired, drops it and reconnects at once with a fresh one, without a second outage.
		if ev := w.change(); ev.Kind != onehub.EventDisconnected {
			t.Fatalf("event %+v, want EventDisconnected", ev)
		}
		down := time.Now()
		w.connected()
		if err := f.oh.WaitStreams(w.ctx, 1); err != nil {
			t.Fatal(err)
		}
		f.rest.OnCall(1, true)
		for {
			ev := w.change()
			if ev.Kind == onehub.EventConnected { // a stream refused only after the subscription
				continue
			}
			wantState(t, ev, id, nil, ptr(onehub.TelephonyActive))
			break
		}
		// One backoff, for the drop; a second, after the refused token, would add 1.6s or more.
		if d := time.Since(down); !between(d, 800*time.Millisecond, time.Second) {
			t.Errorf("streaming again %v after the drop, want after one backoff (0.8s to 1s)", d)
		}
		_, invalidated := f.tk.all()
		if len(invalidated) == 0 || c.Stats().Refreshes == 0 {
			t.Errorf("the expired token was not dropped (invalidated %d, stats %+v)", len(invalidated), c.Stats())
		}
	})
}
