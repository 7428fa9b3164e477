package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
)

func guid(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }

func TestGetPresencesChunks(t *testing.T) {
	tests := []struct {
		n, known     int // ids asked for; the first `known` of them exist
		wantRequests int
	}{
		{0, 0, 0},
		{1, 1, 1},
		{650, 650, 1},
		{651, 600, 2},
		{1301, 1300, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			e := newEnv(t, everything, nil)
			ids := make([]string, tt.n)
			for i := range ids {
				ids[i] = guid(i)
				if i < tt.known {
					e.s.AddUser(graphtest.User{ID: ids[i], Availability: "Away", Activity: "Away"})
				}
			}
			res, err := e.c.GetPresences(t.Context(), ids)
			if err != nil {
				t.Fatal(err)
			}
			reqs := e.s.Requests()
			if len(reqs) != tt.wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantRequests)
			}
			asked := map[string]int{}
			for _, r := range reqs {
				var body struct{ IDs []string }
				if err := json.Unmarshal(r.Body, &body); err != nil || len(body.IDs) > 650 || r.Status != 200 {
					t.Fatalf("request with %d ids answered %d (%v)", len(body.IDs), r.Status, err)
				}
				for _, id := range body.IDs {
					asked[id]++
				}
			}
			if len(asked) != tt.n {
				t.Errorf("asked for %d distinct ids, want %d", len(asked), tt.n)
			}
			if len(res.Presences) != tt.known || len(res.Missing) != tt.n-tt.known {
				t.Errorf("%d presences, %d missing; want %d, %d", len(res.Presences), len(res.Missing), tt.known, tt.n-tt.known)
			}
			for i, id := range res.Missing {
				if id != ids[tt.known+i] {
					t.Fatalf("Missing[%d] = %s, want %s", i, id, ids[tt.known+i])
				}
			}
			if tt.known > 0 && res.Presences[ids[0]] != (graph.Presence{ID: ids[0], Availability: "Away", Activity: "Away"}) {
				t.Errorf("presence %+v", res.Presences[ids[0]])
			}
		})
	}
}

func TestGetPresencesIDsAsAsked(t *testing.T) {
	e := newEnv(t, everything, nil)
	e.s.AddUser(graphtest.User{ID: "abcdef00-0000-4000-8000-000000000000", Availability: "DoNotDisturb", Activity: "Presenting"})
	asked := "ABCDEF00-0000-4000-8000-000000000000"
	res, err := e.c.GetPresences(t.Context(), []string{asked, asked, "", "abcdef00-0000-4000-8000-000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := res.Presences[asked]; !ok || p.ID != asked || p.Availability != "DoNotDisturb" || len(res.Presences) != 1 || len(res.Missing) != 0 {
		t.Errorf("got %+v, want one presence keyed %s", res, asked)
	}
	var body struct{ IDs []string }
	_ = json.Unmarshal(e.s.Requests()[0].Body, &body)
	if len(body.IDs) != 1 {
		t.Errorf("sent %v, want duplicates and empty ids dropped", body.IDs)
	}
}

// barrierTransport holds the first `limit` requests until that many are in flight at once, and
// records the most ever in flight. A client that never reaches the limit times out the test
// rather than passing it; one that exceeds it is caught by max.
type barrierTransport struct {
	base  http.RoundTripper
	limit int
	full  chan struct{}

	mu       sync.Mutex
	inFlight int
	max      int
	once     sync.Once
}

func (b *barrierTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	b.inFlight++
	b.max = max(b.max, b.inFlight)
	if b.inFlight == b.limit {
		b.once.Do(func() { close(b.full) })
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	select {
	case <-b.full:
	case <-time.After(10 * time.Second):
		return nil, errors.New("barrier: the client never had the expected requests in flight")
	}
	return b.base.RoundTrip(r)
}

func TestGetPresencesConcurrency(t *testing.T) {
	var bt *barrierTransport
	e := newEnv(t, everything, func(o *graph.Options) {
		o.Concurrency = 3
		bt = &barrierTransport{base: o.HTTPClient.Transport, limit: 3, full: make(chan struct{})}
		o.HTTPClient = &http.Client{Transport: bt}
	})
	ids := make([]string, 10*650)
	for i := range ids {
		ids[i] = guid(i)
	}
	if _, err := e.c.GetPresences(t.Context(), ids); err != nil {
		t.Fatal(err)
	}
	if bt.max != 3 {
		t.Errorf("at most %d requests in flight, want exactly the limit 3", bt.max)
	}
	if n := len(e.s.Requests()); n != 10 {
		t.Errorf("%d requests, want 10", n)
	}
}

func TestGetPresencesChunkFails(t *testing.T) {
	var e *env
	e = newEnv(t, everything, func(o *graph.Options) {
		o.Concurrency = 1
		o.HTTPClient = &http.Client{Transport: &hookTransport{base: o.HTTPClient.Transport, after: func(n int) {
			if n == 1 {
				e.s.AddFault(graphtest.Fault{Path: presencePath, Status: 500, Times: 1})
			}
		}}}
	})
	ids := make([]string, 1400)
	for i := range ids {
		ids[i] = guid(i)
		e.s.AddUser(graphtest.User{ID: ids[i]})
	}
	res, err := e.c.GetPresences(t.Context(), ids)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 500 || !strings.HasPrefix(err.Error(), "graph: get presences (ids 651-1300): 500 Internal Server Error") {
		t.Fatalf("got %v, want the second range's 500", err)
	}
	if len(res.Presences) != 750 || len(res.Missing) != 0 {
		t.Errorf("%d presences, %d missing; want the first and third ranges' 750 and none missing", len(res.Presences), len(res.Missing))
	}
	if n := len(e.s.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (a failed range does not stop the others)", n)
	}
}

// A refused token or permission would be refused for every range: the ranges not yet sent are
// not sent at all (the run ends with exit code 4 anyway).
func TestGetPresencesRefusalStopsTheRest(t *testing.T) {
	tests := []struct {
		status       int
		wantRequests int // the first range only; a 401 is retried once with a renewed token
	}{
		{http.StatusForbidden, 1},
		{http.StatusUnauthorized, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			e := newEnv(t, everything, func(o *graph.Options) { o.Concurrency = 1 })
			ids := make([]string, 1400)
			for i := range ids {
				ids[i] = guid(i)
				e.s.AddUser(graphtest.User{ID: ids[i]})
			}
			e.s.AddFault(graphtest.Fault{Path: presencePath, Status: tt.status})
			res, err := e.c.GetPresences(t.Context(), ids)
			if !graph.IsAuth(err) {
				t.Fatalf("got %v, want the %d", err, tt.status)
			}
			if n := e.s.CountRequests("POST", presencePath); n != tt.wantRequests {
				t.Errorf("%d requests, want %d: nothing after the refusal", n, tt.wantRequests)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "graph: get presences (ids 1-650): ") || strings.Count(msg, "graph:") != 1 {
				t.Errorf("error %q, want the first range's refusal alone", msg)
			}
			if len(res.Presences)+len(res.Missing) != 0 {
				t.Errorf("result %+v from refused requests", res)
			}
		})
	}
}

func TestGetPresencesCancelStopsTheRest(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e := newEnv(t, everything, func(o *graph.Options) {
		o.Concurrency = 1
		o.HTTPClient = &http.Client{Transport: &hookTransport{base: o.HTTPClient.Transport, after: func(int) { cancel() }}}
	})
	ids := make([]string, 1400)
	for i := range ids {
		ids[i] = guid(i)
	}
	_, err := e.c.GetPresences(ctx, ids)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "2 of 3 requests not sent") {
		t.Fatalf("got %v, want context.Canceled saying 2 of 3 requests were not sent", err)
	}
	if n := len(e.s.Requests()); n != 1 {
		t.Errorf("%d requests after the caller gave up, want 1", n)
	}
}

func TestSetAndClearPresence(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	e := newEnv(t, everything, nil)
	e.s.SetClock(func() time.Time { return t0 })
	e.s.AddUser(graphtest.User{ID: "u1", Availability: "Available", Activity: "Available"})
	const app = "11111111-2222-3333-4444-555555555555"
	ctx := t.Context()

	err := e.c.SetPresence(ctx, "u1", graph.SessionPresence{SessionID: app, Availability: "DoNotDisturb", Activity: "Presenting", Expiration: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.Unmarshal(e.s.Requests()[0].Body, &body)
	if body["expirationDuration"] != "PT15M" || body["sessionId"] != app {
		t.Errorf("sent %v", body)
	}
	if ss := e.s.Sessions("u1"); len(ss) != 1 || ss[0].SessionID != app || !ss[0].Expires.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("Sessions = %+v", ss)
	}
	if a, b := e.s.PresenceOf("u1"); a != "DoNotDisturb" || b != "Presenting" {
		t.Errorf("visible presence %s/%s", a, b)
	}
	if err := e.c.ClearPresence(ctx, "u1", app); err != nil {
		t.Fatal(err)
	}
	if ss := e.s.Sessions("u1"); len(ss) != 0 {
		t.Errorf("session still there after clear: %+v", ss)
	}
	// Clearing again: Graph answers 404, which means done.
	if err := e.c.ClearPresence(ctx, "u1", app); err != nil {
		t.Errorf("second clear: %v", err)
	}
	if got := statuses(e.s); !equal(got, []int{200, 200, 404}) {
		t.Errorf("server saw %v", got)
	}
}

func TestSetPresenceValidatedBeforeSending(t *testing.T) {
	ok := graph.SessionPresence{SessionID: "app", Availability: "Busy", Activity: "InACall", Expiration: 5 * time.Minute}
	with := func(f func(*graph.SessionPresence)) graph.SessionPresence { p := ok; f(&p); return p }
	tests := []struct {
		name string
		user string
		p    graph.SessionPresence
		want string
	}{
		{"bad pair", "u1", with(func(p *graph.SessionPresence) { p.Activity = "Presenting" }), "setPresence does not accept Busy/Presenting"},
		{"unknown availability", "u1", with(func(p *graph.SessionPresence) { p.Availability = "Lunch" }), "valid pairs: Available/Available, Busy/InACall"},
		{"expiration too short", "u1", with(func(p *graph.SessionPresence) { p.Expiration = 4 * time.Minute }), "outside 5m..4h"},
		{"expiration too long", "u1", with(func(p *graph.SessionPresence) { p.Expiration = 4*time.Hour + time.Second }), "outside 5m..4h"},
		{"no session", "u1", with(func(p *graph.SessionPresence) { p.SessionID = "" }), "empty session id"},
		{"no user", "", ok, "empty user id"},
	}
	e := newEnv(t, everything, nil)
	e.s.AddUser(graphtest.User{ID: "u1"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.c.SetPresence(t.Context(), tt.user, tt.p)
			if !errors.Is(err, graph.ErrInvalidPresence) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want ErrInvalidPresence mentioning %q", err, tt.want)
			}
		})
	}
	if n := len(e.s.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
	// The bounds themselves are accepted, by the client and by the double.
	for _, d := range []time.Duration{5 * time.Minute, 4 * time.Hour, 0} {
		if err := e.c.SetPresence(t.Context(), "u1", with(func(p *graph.SessionPresence) { p.Expiration = d })); err != nil {
			t.Errorf("expiration %v: %v", d, err)
		}
	}
}

func TestSetPresenceRefusedByServer(t *testing.T) {
	e := newEnv(t, []string{"Presence.Read.All"}, nil)
	e.s.AddUser(graphtest.User{ID: "u1"})
	err := e.c.SetPresence(t.Context(), "u1", graph.SessionPresence{SessionID: "app", Availability: "Away", Activity: "Away"})
	if !graph.IsAuth(err) || !strings.HasPrefix(err.Error(), "graph: set presence for u1: 403 Forbidden") {
		t.Errorf("got %v, want a 403 naming the user", err)
	}
	err = e.c.ClearPresence(t.Context(), "u1", "app")
	if !graph.IsAuth(err) {
		t.Errorf("clear without permission: %v, want the 403", err)
	}
}

// userTokens hands out delegated tokens of one signed-in user, a new one after Invalidate.
type userTokens struct {
	s      *graphtest.Server
	user   string
	mu     sync.Mutex
	issued int
}

func (u *userTokens) Token(context.Context) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.issued++
	return u.s.IssueUserToken(u.user, []string{"Presence.ReadWrite", "Presence.Read.All"}, time.Hour), nil
}

func (*userTokens) Invalidate(string) {}

// A signed-in account sets its own presence only: Graph refuses another user's with a 401, which
// the client takes for a stale token once, like any 401, before it gives up.
func TestSetPresenceOfAnotherUserWithADelegatedToken(t *testing.T) {
	const alice, bob = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	var tokens *userTokens
	e := newEnv(t, nil, func(o *graph.Options) {
		tokens = &userTokens{user: alice}
		o.Tokens = tokens
	})
	tokens.s = e.s
	e.s.AddUser(graphtest.User{ID: alice})
	e.s.AddUser(graphtest.User{ID: bob})
	p := graph.SessionPresence{SessionID: "app", Availability: "Away", Activity: "Away"}
	if err := e.c.SetPresence(t.Context(), alice, p); err != nil {
		t.Fatalf("own presence: %v", err)
	}
	err := e.c.SetPresence(t.Context(), bob, p)
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 401 || !strings.Contains(ge.Message, "Cannot set the presence of another user") || !graph.IsAuth(err) {
		t.Fatalf("bob's presence: %v, want Graph's 401 for another user", err)
	}
	if n := e.s.CountRequests("POST", "/v1.0/users/"+bob); n != 2 || tokens.issued != 3 {
		t.Errorf("%d requests, %d tokens; want the write tried once more with a new token", n, tokens.issued)
	}
	if len(e.s.Sessions(bob)) != 0 {
		t.Error("bob got a session")
	}
}

func TestValidatePair(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		ok   bool
	}{
		{"Available", "Available", true},
		{"Busy", "InACall", true},
		{"Busy", "InAConferenceCall", true},
		{"Away", "Away", true},
		{"DoNotDisturb", "Presenting", true},
		{"DoNotDisturb", "DoNotDisturb", false},
		{"Busy", "Busy", false},
		{"available", "available", false},
		{"BeRightBack", "BeRightBack", false},
		{"", "", false},
	} {
		err := graph.ValidatePair(tt.a, tt.b)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePair(%q, %q) = %v, want ok=%v", tt.a, tt.b, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "DoNotDisturb/Presenting") {
			t.Errorf("error %q does not list the valid pairs", err)
		}
	}
}
