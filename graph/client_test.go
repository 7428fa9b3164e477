package graph_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/internal/testtls"
)

// testTokens is a tiny TokenSource: it caches one token from the double and records Invalidate.
type testTokens struct {
	s     *graphtest.Server
	perms []string
	ttl   time.Duration

	mu          sync.Mutex
	cur         string
	issued      []string
	invalidated []string
}

func (t *testTokens) Token(context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == "" {
		t.cur = t.s.IssueToken(t.perms, false, t.ttl)
		t.issued = append(t.issued, t.cur)
	}
	return t.cur, nil
}

func (t *testTokens) Invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.invalidated = append(t.invalidated, tok)
	if t.cur == tok {
		t.cur = ""
	}
}

var everything = []string{"User.Read.All", "GroupMember.Read.All", "Presence.Read.All", "Presence.ReadWrite.All"}

type env struct {
	s      *graphtest.Server
	c      *graph.Client
	tokens *testTokens
	sent   *testtls.SendTimes // newBubbleEnv: when each request went out, on the bubble's clock
}

// newEnv starts a double and a client for it; mod adjusts the options before NewClient. The
// client does not wait before a retry: a test that looks at the waits runs in a synctest bubble
// with newBubbleEnv.
func newEnv(t *testing.T, perms []string, mod func(*graph.Options)) *env {
	t.Helper()
	return startEnv(t, perms, false, mod)
}

// newBubbleEnv is newEnv for a test in a testing/synctest bubble: the double serves in memory,
// the client waits as in production, on the bubble's clock, and e.sent says when each request
// went out.
func newBubbleEnv(t *testing.T, perms []string, mod func(*graph.Options)) *env {
	t.Helper()
	return startEnv(t, perms, true, mod)
}

func startEnv(t *testing.T, perms []string, bubble bool, mod func(*graph.Options)) *env {
	t.Helper()
	s := graphtest.NewServer()
	t.Cleanup(s.Close)
	e := &env{s: s, tokens: &testTokens{s: s, perms: perms, ttl: time.Hour}}
	o := graph.Options{
		Endpoint:   s.Origin() + "/",
		Tokens:     e.tokens,
		HTTPClient: s.Client(),
		UserAgent:  "teamsface/test",
		Sleep:      func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	if bubble {
		e.sent = &testtls.SendTimes{Base: testtls.InMemory(t, s.Server).Transport}
		o.HTTPClient, o.Sleep = &http.Client{Transport: e.sent}, nil
	}
	if mod != nil {
		mod(&o)
	}
	e.c = graph.NewClient(o)
	return e
}

// hookTransport calls after(n) once the n-th response (1-based) has arrived.
type hookTransport struct {
	base  http.RoundTripper
	mu    sync.Mutex
	n     int
	after func(n int)
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	h.mu.Lock()
	h.n++
	n := h.n
	h.mu.Unlock()
	h.after(n)
	return resp, err
}

func statuses(s *graphtest.Server) []int {
	var out []int
	for _, r := range s.Requests() {
		out = append(out, r.Status)
	}
	return out
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestHeaders(t *testing.T) {
	e := newEnv(t, everything, nil)
	e.s.AddUser(graphtest.User{ID: "u1"})
	for range 2 {
		if _, err := e.c.GetPresences(t.Context(), []string{"u1"}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := e.s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer "+e.tokens.issued[0] {
			t.Errorf("Authorization = %q", got)
		}
		if got := r.Header.Get("User-Agent"); got != "teamsface/test" {
			t.Errorf("User-Agent = %q", got)
		}
		if got := r.Header.Get("client-request-id"); !guidRE.MatchString(got) {
			t.Errorf("client-request-id %q is not a GUID", got)
		}
		if r.Path != presencePath {
			t.Errorf("path %q: the trailing slash of the endpoint leaked", r.Path)
		}
	}
	if reqs[0].Header.Get("client-request-id") == reqs[1].Header.Get("client-request-id") {
		t.Error("client-request-id reused across requests")
	}
}

const presencePath = "/v1.0/communications/getPresencesByUserId"

func TestRetry(t *testing.T) {
	tests := []struct {
		name          string
		fault         graphtest.Fault
		maxAttempts   int
		wantErr       int // expected *Error status, 0 for success
		wantStatuses  []int
		wantSleeps    []time.Duration // exact; nil with sleepRanges
		sleepRanges   [][2]time.Duration
		wantThrottled int64
	}{
		{
			name:         "429 honours Retry-After",
			fault:        graphtest.Fault{Path: presencePath, Status: 429, RetryAfter: "2", Times: 1},
			wantStatuses: []int{429, 200}, wantSleeps: []time.Duration{2 * time.Second}, wantThrottled: 1,
		},
		{
			name:         "Retry-After waited in full without MaxWait",
			fault:        graphtest.Fault{Path: presencePath, Status: 429, RetryAfter: "600", Times: 1},
			wantStatuses: []int{429, 200}, wantSleeps: []time.Duration{10 * time.Minute}, wantThrottled: 1,
		},
		{
			name:         "503 without Retry-After backs off exponentially",
			fault:        graphtest.Fault{Path: presencePath, Status: 503, Times: 2},
			wantStatuses: []int{503, 503, 200}, wantThrottled: 2,
			sleepRanges: [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}},
		},
		{
			name:         "504 until attempts run out",
			fault:        graphtest.Fault{Path: presencePath, Status: 504},
			maxAttempts:  3,
			wantErr:      504,
			wantStatuses: []int{504, 504, 504}, wantThrottled: 3,
			sleepRanges: [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}},
		},
		{
			name:         "500 is not retried",
			fault:        graphtest.Fault{Path: presencePath, Status: 500},
			wantErr:      500,
			wantStatuses: []int{500},
		},
		{
			name:         "403 is not retried",
			fault:        graphtest.Fault{Path: presencePath, Status: 403, RetryAfter: "1"},
			wantErr:      403,
			wantStatuses: []int{403},
		},
	}
	for _, tt := range tests {
		// In a synctest bubble the client waits as in production; the bubble's clock says how long.
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newBubbleEnv(t, everything, func(o *graph.Options) { o.MaxAttempts = tt.maxAttempts })
				e.s.AddUser(graphtest.User{ID: "u1", Availability: "Busy", Activity: "InACall"})
				e.s.AddFault(tt.fault)
				res, err := e.c.GetPresences(t.Context(), []string{"u1"})
				if tt.wantErr == 0 {
					if err != nil || res.Presences["u1"].Activity != "InACall" {
						t.Fatalf("got %v, %v; want u1 InACall", res, err)
					}
				} else {
					var ge *graph.Error
					if !errors.As(err, &ge) || ge.Status != tt.wantErr {
						t.Fatalf("got %v, want *graph.Error %d", err, tt.wantErr)
					}
				}
				if got := statuses(e.s); !equal(got, tt.wantStatuses) {
					t.Errorf("server saw %v, want %v", got, tt.wantStatuses)
				}
				got := e.sent.Gaps()
				if tt.sleepRanges != nil {
					if len(got) != len(tt.sleepRanges) {
						t.Fatalf("waited %v, want %d waits", got, len(tt.sleepRanges))
					}
					for i, r := range tt.sleepRanges {
						if got[i] < r[0] || got[i] > r[1] {
							t.Errorf("wait %d = %v, want within %v", i+1, got[i], r)
						}
					}
				} else if !equal(got, tt.wantSleeps) {
					t.Errorf("waited %v, want %v", got, tt.wantSleeps)
				}
				st := e.c.Stats()
				if st.Requests != int64(len(tt.wantStatuses)) || st.Throttled != tt.wantThrottled {
					t.Errorf("Stats = %+v, want %d requests, %d throttled", st, len(tt.wantStatuses), tt.wantThrottled)
				}
			})
		})
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The caller gives up during the backoff after a 503: the wait ends there, and the error says
// both.
func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newBubbleEnv(t, everything, nil)
		e.s.AddUser(graphtest.User{ID: "u1"})
		e.s.AddFault(graphtest.Fault{Path: presencePath, Status: 503})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel) // within the first backoff (0.5s to 1s)
		start := time.Now()
		_, err := e.c.GetPresences(ctx, []string{"u1"})
		var ge *graph.Error
		if !errors.Is(err, context.Canceled) || !errors.As(err, &ge) || ge.Status != 503 {
			t.Fatalf("got %v, want context.Canceled wrapping the 503", err)
		}
		if n := len(e.s.Requests()); n != 1 || time.Since(start) != 100*time.Millisecond {
			t.Errorf("%d requests, returned after %v; want 1, when the caller gave up (100ms)", n, time.Since(start))
		}
	})
}

func TestTokenExpiresMidRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e *env
		e = newBubbleEnv(t, everything, func(o *graph.Options) {
			base := o.HTTPClient.Transport
			o.HTTPClient = &http.Client{Transport: &hookTransport{base: base, after: func(n int) {
				if n == 1 {
					e.s.ExpireTokens() // the token dies between page 1 and page 2
				}
			}}}
		})
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			e.s.AddUser(graphtest.User{ID: id, AccountEnabled: true})
		}
		e.s.SetPageSize(2)
		users, err := e.c.ListUsers(t.Context())
		if err != nil || len(users) != 5 {
			t.Fatalf("got %d users, %v; want 5", len(users), err)
		}
		if got, want := statuses(e.s), []int{200, 401, 200, 200}; !equal(got, want) {
			t.Errorf("server saw %v, want %v", got, want)
		}
		if len(e.tokens.issued) != 2 || !equal(e.tokens.invalidated, e.tokens.issued[:1]) {
			t.Errorf("issued %d tokens, invalidated %d; want the first invalidated and one new", len(e.tokens.issued), len(e.tokens.invalidated))
		}
		if got := e.sent.Gaps(); !equal(got, []time.Duration{0, 0, 0}) {
			t.Errorf("waited %v between the requests, want no wait for a token renewal", got)
		}
	})
}

func TestTokenRenewedOnlyOnce(t *testing.T) {
	e := newEnv(t, everything, nil)
	e.tokens.ttl = -time.Minute // every token the source hands out is already expired
	e.s.AddUser(graphtest.User{ID: "u1"})
	_, err := e.c.GetPresences(t.Context(), []string{"u1"})
	var ge *graph.Error
	if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != "InvalidAuthenticationToken" || !graph.IsAuth(err) {
		t.Fatalf("got %v, want a 401 InvalidAuthenticationToken", err)
	}
	if got := statuses(e.s); !equal(got, []int{401, 401}) {
		t.Errorf("server saw %v, want two 401s", got)
	}
	if len(e.tokens.invalidated) != 1 {
		t.Errorf("Invalidate called %d times, want 1", len(e.tokens.invalidated))
	}
}

func TestErrorParsed(t *testing.T) {
	e := newEnv(t, []string{"User.Read.All"}, nil) // no presence permission
	e.s.AddUser(graphtest.User{ID: "u1"})
	_, err := e.c.GetPresences(t.Context(), []string{"u1", "u2"})
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatalf("got %v, want *graph.Error", err)
	}
	sent := e.s.Requests()[0].Header.Get("client-request-id")
	if ge.Status != 403 || ge.Code != "Forbidden" || ge.Message == "" || !guidRE.MatchString(ge.RequestID) || ge.ClientRequestID != sent {
		t.Errorf("parsed %+v, want 403 Forbidden with message, request-id and client-request-id %s", ge, sent)
	}
	if !graph.IsAuth(err) {
		t.Error("IsAuth = false for a 403")
	}
	msg := err.Error()
	for _, want := range []string{"graph: get presences (ids 1-2): 403 Forbidden: Insufficient privileges", "request-id " + ge.RequestID, "client-request-id " + sent} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Count(msg, "graph:") != 1 {
		t.Errorf("error %q repeats its prefix", msg)
	}
	if graph.IsAuth(errors.New("graph: 403")) || graph.IsAuth(&graph.Error{Status: 404}) {
		t.Error("IsAuth true for a non-auth error")
	}
}

func TestDebugLogHasNoToken(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.Level(-100)}))
	e := newEnv(t, everything, func(o *graph.Options) { o.Logger = logger })
	for _, id := range []string{"a", "b", "c"} {
		e.s.AddUser(graphtest.User{ID: id})
	}
	e.s.SetPageSize(2)
	ctx := t.Context()
	if _, err := e.c.ListUsers(ctx); err != nil {
		t.Fatal(err)
	}
	e.s.ExpireTokens()
	if _, err := e.c.GetPresences(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	_ = e.c.ClearPresence(ctx, "nobody", "app") // a 404, with Graph's error body
	log := buf.String()
	for _, tok := range e.tokens.issued {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(log, part) {
				t.Fatalf("debug log contains (part of) a token:\n%s", log)
			}
		}
	}
	if strings.Contains(log, "Bearer") || strings.Contains(log, "Authorization") {
		t.Fatalf("debug log mentions the Authorization header:\n%s", log)
	}
	lines := strings.Count(log, "msg=\"graph request\"")
	if int64(lines) != e.c.Stats().Requests || lines != 5 {
		t.Errorf("%d request lines for %d requests, want one per request (5)", lines, e.c.Stats().Requests)
	}
	for _, want := range []string{"method=GET", "path=/v1.0/users", "status=401", "status=404", "duration=", "request_id=", "client_request_id="} {
		if !strings.Contains(log, want) {
			t.Errorf("debug log lacks %q:\n%s", want, log)
		}
	}
}
