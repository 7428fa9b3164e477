package onehub_test

import (
	"context"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
)

// watch runs Client.Watch in the background. Its sleeps are handed to the test: each is sent on
// sleeps and lasts until the test sends on release (or returns at once when release is nil).
type watch struct {
	t       *testing.T
	ctx     context.Context
	events  chan onehub.Event
	sleeps  chan time.Duration
	release chan struct{}
	cancel  context.CancelFunc
	done    chan error
}

func startWatch(t *testing.T, f *fixture, ids []string, hold bool) (*watch, *onehub.Client) {
	t.Helper()
	w := &watch{t: t, ctx: ctxT(t), events: make(chan onehub.Event, 100), sleeps: make(chan time.Duration, 100), done: make(chan error, 1)}
	if hold {
		w.release = make(chan struct{})
	}
	c := f.dial(t, func(o *onehub.Options) {
		o.Backoff = func(n int) time.Duration { return time.Duration(n) * time.Second }
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			w.sleeps <- d
			if w.release == nil {
				return nil
			}
			select {
			case <-w.release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
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

func (w *watch) sleep() time.Duration {
	w.t.Helper()
	select {
	case d := <-w.sleeps:
		return d
	case <-w.ctx.Done():
		w.t.Fatal("Watch did not wait before reconnecting")
	}
	return 0
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

func TestWatch(t *testing.T) {
	f := newFixture(t, 4, onehubtest.Options{})
	ids := []string{f.oh.OneHubID(1), f.oh.OneHubID(2), f.oh.OneHubID(3)} // user 4 is not watched
	w, c := startWatch(t, f, ids, false)

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

	// The stream breaks: one EventDisconnected, a wait, a new stream and subscription.
	f.oh.DropStreams()
	ev := w.change()
	if ev.Kind != onehub.EventDisconnected || !onehub.IsUnavailable(ev.Err) {
		t.Fatalf("after the drop: %+v, want EventDisconnected (unavailable)", ev)
	}
	if d := w.sleep(); d != time.Second {
		t.Errorf("waited %v before reconnecting, want the first backoff (1s)", d)
	}
	if states := w.connected(); len(states) != 3 {
		t.Errorf("after reconnecting: states of %d users, want 3", len(states))
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
}

// A refused subscription is one outage (the caller falls back to REST) however often the
// retries fail, and Watch connects once it is allowed.
func TestWatchPermissionDeniedThenAllowed(t *testing.T) {
	f := newFixture(t, 2, onehubtest.Options{})
	f.oh.AllowSubscriptionsOnly(1)
	ids := []string{f.oh.OneHubID(1), f.oh.OneHubID(2)}
	w, _ := startWatch(t, f, ids, true)

	ev := w.next()
	if ev.Kind != onehub.EventDisconnected || !onehub.IsPermissionDenied(ev.Err) {
		t.Fatalf("first event %+v, want EventDisconnected (permission denied)", ev)
	}
	for want := 1; want <= 3; want++ {
		if d := w.sleep(); d != time.Duration(want)*time.Second {
			t.Errorf("backoff %d: %v, want %ds", want, d, want)
		}
		if want == 3 {
			f.oh.AllowSubscriptionsOnly()
		}
		w.release <- struct{}{}
	}
	// Nothing but the initial states and EventConnected: no second EventDisconnected.
	if states := w.connected(); len(states) != 2 {
		t.Errorf("initial states of %d users, want 2", len(states))
	}
	if n := f.oh.CountCalls(subscribeMethod); n != 4 {
		t.Errorf("%d subscribe calls, want 4 (3 refused)", n)
	}
}

func TestWatchWhileDown(t *testing.T) {
	f := newFixture(t, 1, onehubtest.Options{})
	f.oh.SetDown(true)
	w, _ := startWatch(t, f, []string{f.oh.OneHubID(1)}, true)
	ev := w.next()
	if ev.Kind != onehub.EventDisconnected || !onehub.IsUnavailable(ev.Err) {
		t.Fatalf("first event %+v, want EventDisconnected (unavailable)", ev)
	}
	w.sleep()
	f.oh.SetDown(false)
	w.release <- struct{}{}
	if states := w.connected(); len(states) != 1 {
		t.Errorf("initial states of %d users, want 1", len(states))
	}
}

// A refused token is dropped and the stream reopened at once with a fresh one: no second outage
// reported, no backoff.
func TestWatchExpiredToken(t *testing.T) {
	f := newFixture(t, 1, onehubtest.Options{})
	id := f.oh.OneHubID(1)
	w, c := startWatch(t, f, []string{id}, true)
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
	w.sleep()
	w.release <- struct{}{}
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
	select {
	case d := <-w.sleeps:
		t.Errorf("slept %v after a refused token, want an immediate retry", d)
	default:
	}
	_, invalidated := f.tk.all()
	if len(invalidated) == 0 || c.Stats().Refreshes == 0 {
		t.Errorf("the expired token was not dropped (invalidated %d, stats %+v)", len(invalidated), c.Stats())
	}
}
