package onehub_test

import (
	"context"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
)

// The bearer token must not reach the log at any level, through calls, a refresh, events and
// errors.
func TestTokenNeverLogged(t *testing.T) {
	f := newFixture(t, 3, onehubtest.Options{})
	logger, logs := traceLogger()
	c := f.dial(t, func(o *onehub.Options) { o.Logger = logger })

	ids := lookupAll(t, c, 3)
	f.oh.ExpireTokens()
	if _, err := c.ReadPresence(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	f.oh.AllowSubscriptionsOnly(1)
	_, denied := c.ReadPresence(context.Background(), ids)
	f.oh.AllowSubscriptionsOnly()

	w := &watch{t: t, ctx: ctxT(t), events: make(chan onehub.Event, 100)}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, ids, w.events) }()
	w.connected()
	if err := f.oh.WaitStreams(w.ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.rest.OnCall(1, true)
	w.change()
	cancel()
	<-done

	issued, _ := f.tk.all()
	if len(issued) < 2 {
		t.Fatalf("%d tokens issued, want a refresh", len(issued))
	}
	out := logs.String()
	for _, want := range []string{"onehub call", "method=SubscribePresenceStates", "code=Unauthenticated", "onehub event"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q; the test would prove nothing:\n%s", want, out)
		}
	}
	for _, tok := range issued {
		if strings.Contains(out, tok) {
			t.Errorf("token %s… in the log", tok[:6])
		}
		if denied != nil && strings.Contains(denied.Error(), tok) {
			t.Errorf("token %s… in an error", tok[:6])
		}
	}
}
