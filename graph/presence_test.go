package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
)

func guid(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", i) }

// guids makes n object ids; the double knows the first `known` of them, Away/Away.
func guids(s *graphtest.Server, n, known int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = guid(i)
		if i < known {
			s.AddUser(graphtest.User{ID: ids[i], Availability: "Away", Activity: "Away"})
		}
	}
	return ids
}

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
			ids := guids(e.s, tt.n, tt.known)
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
	ids := guids(e.s, 10*650, 0)
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
	ids := guids(e.s, 1400, 1400)
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
		held         int // ranges held in flight while another is refused (Concurrency held+1)
		wantRequests int // without held ranges: the first range only; a 401 is retried once with a renewed token
	}{
		{http.StatusForbidden, 0, 1},
		{http.StatusUnauthorized, 0, 2},
		{http.StatusForbidden, 2, 0}, // the two in flight are cancelled and add nothing
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, "/", tt.held), func(t *testing.T) {
			e := newEnv(t, everything, func(o *graph.Options) { o.Concurrency = tt.held + 1 })
			ids := guids(e.s, 1400, 1400)
			if tt.held > 0 {
				e.s.AddFault(graphtest.Fault{Path: presencePath, Delay: time.Minute, Times: tt.held})
			}
			e.s.AddFault(graphtest.Fault{Path: presencePath, Status: tt.status})
			res, err := e.c.GetPresences(t.Context(), ids)
			if !graph.IsAuth(err) {
				t.Fatalf("got %v, want the %d", err, tt.status)
			}
			// Held requests are logged only once the server sees them cancelled; they were
			// in flight all together.
			if n := e.s.MaxInFlight(); tt.held > 0 && n != tt.held+1 {
				t.Errorf("%d requests in flight, want %d", n, tt.held+1)
			}
			if n := e.s.CountRequests("POST", presencePath); tt.held == 0 && n != tt.wantRequests {
				t.Errorf("%d requests, want %d: nothing after the refusal", n, tt.wantRequests)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "graph: get presences (ids ") || !strings.Contains(msg, ": 40") || strings.Count(msg, "graph:") != 1 {
				t.Errorf("error %q, want one range's refusal alone", msg)
			}
			if len(res.Presences)+len(res.Missing) != 0 {
				t.Errorf("result %+v from refused requests", res)
			}
		})
	}
}

// answerLog is a got for StreamPresences that records the answers and fails the test when a
// call overlaps another. The slice is appended to without a lock, so the race detector also
// catches calls from two goroutines.
type answerLog struct {
	t       *testing.T
	inside  atomic.Int32
	answers []graph.PresenceAnswer
}

func (l *answerLog) got(a graph.PresenceAnswer) {
	if l.inside.Add(1) != 1 {
		l.t.Error("got called while another call was running")
	}
	defer l.inside.Add(-1)
	// In a synctest bubble (where its callers run) the sleep ends only once every other
	// goroutine waits: a call that could overlap this one does.
	time.Sleep(20 * time.Millisecond)
	l.answers = append(l.answers, a)
}

func TestStreamPresences(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var bt *barrierTransport
		e := newBubbleEnv(t, everything, func(o *graph.Options) {
			o.Concurrency = 3
			// All three requests in flight at once, so their answers come together.
			bt = &barrierTransport{base: o.HTTPClient.Transport, limit: 3, full: make(chan struct{})}
			o.HTTPClient = &http.Client{Transport: bt}
		})
		ids := guids(e.s, 1400, 1350)
		var progress [][2]int
		ctx := graph.WithProgress(t.Context(), func(done, total int) { progress = append(progress, [2]int{done, total}) })
		l := &answerLog{t: t}
		if err := e.c.StreamPresences(ctx, append(ids, ids[0], " "+ids[1]+" "), l.got); err != nil {
			t.Fatal(err)
		}
		if n := len(e.s.Requests()); n != 3 || bt.max != 3 {
			t.Fatalf("%d requests, %d in flight at most; want 3 and 3", n, bt.max)
		}
		if len(l.answers) != 3 {
			t.Fatalf("got called %d times, want once per request", len(l.answers))
		}
		delivered := map[string]int{}
		sizes := map[int]bool{}
		for _, a := range l.answers {
			if a.Err != nil {
				t.Fatalf("answer for %d ids: %v", len(a.IDs), a.Err)
			}
			sizes[len(a.IDs)] = true
			if len(a.Presences)+len(a.Missing) != len(a.IDs) {
				t.Errorf("answer for %d ids has %d presences and %d missing", len(a.IDs), len(a.Presences), len(a.Missing))
			}
			for _, id := range a.IDs {
				delivered[id]++
				if p, ok := a.Presences[id]; ok && p != (graph.Presence{ID: id, Availability: "Away", Activity: "Away"}) {
					t.Errorf("presence of %s = %+v", id, p)
				}
			}
			for _, id := range a.Missing {
				if _, ok := a.Presences[id]; ok || !slices.Contains(ids[1350:], id) {
					t.Errorf("%s missing, but it exists or was answered", id)
				}
			}
		}
		if len(delivered) != len(ids) || !sizes[650] || !sizes[100] {
			t.Errorf("%d distinct ids delivered in answers of sizes %v; want all %d in 650, 650 and 100", len(delivered), sizes, len(ids))
		}
		for id, n := range delivered {
			if n != 1 {
				t.Errorf("%s delivered %d times", id, n)
			}
		}
		if want := [][2]int{{1, 3}, {2, 3}, {3, 3}}; !slices.Equal(progress, want) {
			t.Errorf("progress %v, want %v", progress, want)
		}
	})
}

// A refusal stops the stream: the requests not yet sent are not sent, and those in flight are
// cancelled and not delivered; the refusal is returned.
func TestStreamPresencesRefusal(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		faults      []graphtest.Fault
		wantSent    int
	}{
		{"the rest not sent", 1, []graphtest.Fault{{Path: presencePath, Status: 403}}, 1},
		{"the rest in flight cancelled", 3, []graphtest.Fault{
			{Path: presencePath, Delay: time.Minute, Times: 2}, // the first two held until the client leaves
			{Path: presencePath, Status: 403},
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newBubbleEnv(t, everything, func(o *graph.Options) { o.Concurrency = tt.concurrency })
				ids := guids(e.s, 1400, 1400)
				for _, f := range tt.faults {
					e.s.AddFault(f)
				}
				l := &answerLog{t: t}
				err := e.c.StreamPresences(t.Context(), ids, l.got)
				if !graph.IsAuth(err) {
					t.Fatalf("got %v, want the 403", err)
				}
				if len(l.answers) != 1 || l.answers[0].Err != err || l.answers[0].Presences != nil {
					for _, a := range l.answers {
						t.Errorf("answer for %d ids from %s: %v", len(a.IDs), a.IDs[0], a.Err)
					}
					t.Fatalf("%d answers; want only the refused one, with the error returned", len(l.answers))
				}
				if n := e.s.MaxInFlight(); n != tt.wantSent {
					t.Errorf("%d requests in flight at most, want %d", n, tt.wantSent)
				}
				if n := e.s.CountRequests("POST", presencePath); n != tt.wantSent {
					t.Errorf("%d requests, want %d", n, tt.wantSent)
				}
			})
		})
	}
}

// A Retry-After longer than the client waits stops the requests not yet sent: each is delivered
// with a *ThrottledError of its own without being sent, and the first one is returned.
func TestStreamPresencesThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newBubbleEnv(t, everything, func(o *graph.Options) { o.MaxWait, o.Concurrency = 10*time.Second, 1 })
		ids := guids(e.s, 1400, 1400)
		e.s.AddFault(graphtest.Fault{Path: presencePath, Status: 429, RetryAfter: "120"})
		l := &answerLog{t: t}
		err := e.c.StreamPresences(t.Context(), ids, l.got)
		var te *graph.ThrottledError
		if !errors.As(err, &te) || te.Err == nil || te.Err.Status != 429 || !te.Until.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("got %v, want the 429's *ThrottledError until 00:02:00", err)
		}
		if !strings.HasPrefix(err.Error(), "graph: get presences (ids 1-650): throttled: ") {
			t.Errorf("error %q, want the first range's", err)
		}
		if n := len(e.s.Requests()); n != 1 {
			t.Errorf("%d requests, want 1: nothing is sent before 00:02:00", n)
		}
		if len(l.answers) != 3 {
			t.Fatalf("got called %d times, want 3", len(l.answers))
		}
		for i, a := range l.answers {
			if !errors.As(a.Err, &te) || (i > 0) != (te.Err == nil) || a.Presences != nil {
				t.Errorf("answer %d for ids %s..: %v; want a *ThrottledError, with Graph's answer only for the first", i, a.IDs[0], a.Err)
			}
		}
	})
}

// The end of ctx: the requests not sent are counted in the error; the one in flight is
// delivered (StreamPresences) or joined to the error (GetPresences).
func TestPresencesCancelStopsTheRest(t *testing.T) {
	tests := []struct {
		name string
		read func(t *testing.T, ctx context.Context, c *graph.Client, ids []string) error
	}{
		{"GetPresences", func(t *testing.T, ctx context.Context, c *graph.Client, ids []string) error {
			_, err := c.GetPresences(ctx, ids)
			return err
		}},
		{"StreamPresences", func(t *testing.T, ctx context.Context, c *graph.Client, ids []string) error {
			l := &answerLog{t: t}
			err := c.StreamPresences(ctx, ids, l.got)
			if len(l.answers) != 1 || len(l.answers[0].IDs) != 650 || l.answers[0].IDs[0] != ids[0] {
				t.Errorf("%d answers, want the first range's alone", len(l.answers))
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				e := newBubbleEnv(t, everything, func(o *graph.Options) {
					o.Concurrency = 1
					o.HTTPClient = &http.Client{Transport: &hookTransport{base: o.HTTPClient.Transport, after: func(int) { cancel() }}}
				})
				err := tt.read(t, ctx, e.c, guids(e.s, 1400, 0))
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "graph: get presences: 2 of 3 requests not sent: context canceled") {
					t.Fatalf("got %v, want context.Canceled saying 2 of 3 requests were not sent", err)
				}
				if n := len(e.s.Requests()); n != 1 {
					t.Errorf("%d requests after the caller gave up, want 1", n)
				}
			})
		})
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
