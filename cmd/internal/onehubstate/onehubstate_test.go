package onehubstate

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

type staticTokens struct {
	srv *onehubtest.Server
	mu  sync.Mutex
	tok string
}

func (s *staticTokens) AccessToken(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == "" {
		s.tok = s.srv.IssueToken()
	}
	return s.tok, nil
}

func (s *staticTokens) InvalidateAccessToken(string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tok = ""
}

type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func setup(t *testing.T, n int) (*starfacetest.Server, *onehubtest.Server, *Source, []pass.OneHubUser, *syncWriter) {
	t.Helper()
	rest, users := newREST(t, n)
	oh, src, logs := connect(t, rest, false)
	return rest, oh, src, users, logs
}

// newREST starts the REST double with users 2..n+1.
func newREST(t *testing.T, n int) (*starfacetest.Server, []pass.OneHubUser) {
	t.Helper()
	rest := starfacetest.NewServer()
	t.Cleanup(rest.Close)
	var users []pass.OneHubUser
	for i := 2; i < n+2; i++ {
		rest.AddUser(starfacetest.User{ID: i, Login: "x", Password: "pw"})
		users = append(users, pass.OneHubUser{StarfaceID: i})
	}
	return rest, users
}

// connect starts the OneHub double of rest and a Source reading it through the real client;
// inMemory serves it in memory, for a test in a synctest bubble (rest stays outside the bubble:
// its loopback listener would hold the bubble's clock).
func connect(t *testing.T, rest *starfacetest.Server, inMemory bool) (*onehubtest.Server, *Source, *syncWriter) {
	t.Helper()
	oh := onehubtest.NewServer(rest, onehubtest.Options{InMemory: inMemory})
	t.Cleanup(oh.Close)
	o := onehub.Options{Target: oh.Target(), TLSConfig: oh.ClientTLSConfig(), Tokens: &staticTokens{srv: oh}}
	if inMemory {
		o.Dial = oh.Dial
	}
	c, err := onehub.Dial(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var logs syncWriter
	return oh, New(c, slog.New(slog.NewTextHandler(&logs, nil))), &logs
}

// One pass reads 1,000 users' DND and calls in at most 3 gRPC requests, and once the ids are
// cached with the match, in 2.
func TestStatesReadsEveryoneAtOnce(t *testing.T) {
	rest, oh, src, users, _ := setup(t, 1000)
	rest.SetDND(7, true)
	rest.OnCall(9, true)
	states, looked, err := src.States(context.Background(), users)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(oh.Calls()); n > 3 {
		t.Errorf("%d gRPC requests for 1,000 users, want at most 3", n)
	}
	if len(states) != 1000 || len(looked) != 1000 || !states[7].DND || !states[9].OnCall || states[8].DND || states[8].OnCall {
		t.Fatalf("states: %d, looked up %d; 7 %+v, 9 %+v, 8 %+v", len(states), len(looked), states[7], states[9], states[8])
	}
	for i := range users {
		users[i].OneHubID = looked[users[i].StarfaceID]
	}
	oh.ResetCalls()
	if _, again, err := src.States(context.Background(), users); err != nil || len(again) != 0 || len(oh.Calls()) != 2 {
		t.Errorf("with the ids cached: looked up %d, %d requests, %v; want 0 and 2", len(again), len(oh.Calls()), err)
	}
}

// sync watch follows the users' stream: a call start wakes the loop, and the next pass reads
// from the stream without any gRPC request. A refused subscription makes States fail (the
// pass falls back to REST) and is logged once.
func TestFollowWakesAndAnswersFromTheStream(t *testing.T) {
	rest, users := newREST(t, 5)
	// In a synctest bubble, with the OneHub double in memory: the waits below pass on the
	// bubble's clock, and a minute of it is plenty.
	synctest.Test(t, func(t *testing.T) {
		oh, src, _ := connect(t, rest, true)
		_, looked, err := src.States(t.Context(), users)
		if err != nil {
			t.Fatal(err)
		}
		for i := range users {
			users[i].OneHubID = looked[users[i].StarfaceID]
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		src.Follow(ctx, users)
		wake := func(what string) {
			t.Helper()
			select {
			case <-src.Changed():
			case <-time.After(time.Minute):
				t.Fatal(what)
			}
		}
		// The connection itself signals once (what changed while it was set up), and from then
		// on the stream answers.
		wake("connecting did not signal")
		if _, ok, err := src.fromStream(ctx, sortedIDs(users)); !ok || err != nil {
			t.Fatalf("connected, yet no answer from the stream: %v", err)
		}
		// The double sends changes to the streams open at the time: wait until it has taken
		// the stream in (the client does not wait for that, as a real PBX answers nothing on
		// it before the first change).
		if err := oh.WaitStreams(ctx, 1); err != nil {
			t.Fatal(err)
		}
		rest.OnCall(4, true)
		wake("a call start did not wake the loop")
		oh.ResetCalls()
		states, _, err := src.States(ctx, users)
		if err != nil || !states[4].OnCall {
			t.Fatalf("from the stream: %+v, %v", states[4], err)
		}
		if n := len(oh.Calls()); n != 0 {
			t.Errorf("%d gRPC requests while the stream is connected, want 0", n)
		}
	})
}

func TestRefusedSubscriptionFails(t *testing.T) {
	_, oh, src, users, _ := setup(t, 3)
	oh.AllowSubscriptionsOnly(2)
	if _, _, err := src.States(context.Background(), users); err == nil || !onehub.IsPermissionDenied(err) {
		t.Fatalf("States = %v, want permission denied", err)
	}
	if src.Stats().Fallbacks != 1 {
		t.Errorf("fallbacks = %d, want 1", src.Stats().Fallbacks)
	}
}

func sortedIDs(users []pass.OneHubUser) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.OneHubID)
	}
	slices.Sort(out)
	return out
}

// String is for logs: "1 user followed", not "1 users".
func TestStringSaysHowManyUsersAreFollowed(t *testing.T) {
	for n, want := range map[int]string{0: "OneHub (0 users followed, streaming false)",
		1: "OneHub (1 user followed, streaming false)", 2: "OneHub (2 users followed, streaming false)"} {
		s := &Source{}
		for i := range n {
			s.watched = append(s.watched, fmt.Sprint("onehub-", i))
		}
		if got := s.String(); got != want {
			t.Errorf("%d users: %q, want %q", n, got, want)
		}
	}
}
