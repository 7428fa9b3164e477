package graph

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
)

// roundTripFunc answers requests without a server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func canned(status int, body string) roundTripFunc {
	return func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
}

// fixedTokens hands out one token, or an error.
type fixedTokens struct {
	tok string
	err error
}

func (f fixedTokens) Token(context.Context) (string, error) { return f.tok, f.err }
func (fixedTokens) Invalidate(string)                       {}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// closedOrigin is the origin of a server that no longer listens.
func closedOrigin(t *testing.T) string {
	s := httptest.NewTLSServer(http.NotFoundHandler())
	s.Close()
	return s.URL
}

// Every error the package returns names the service exactly once, at the start, whichever layer
// it comes from (Graph's answer, the retry loop, the token source, Entra, the transport), so a
// caller can add its own context without repeating it (issue 9 §7).
func TestErrorsNameTheServiceOnce(t *testing.T) {
	type env struct {
		s      *graphtest.Server
		client func(Options) *Client // a client on the double with these options adjusted
		ctx    context.Context
	}
	session := SessionPresence{SessionID: "app", Availability: "Away", Activity: "Away"}
	tests := []struct {
		name string
		run  func(t *testing.T, e env) error
		want string // a part of the message that shows the path taken
	}{
		{name: "graph refuses", want: "get presences (ids 1-1): 403 Forbidden", run: func(t *testing.T, e env) error {
			c := e.client(Options{Tokens: fixedTokens{tok: e.s.IssueToken([]string{"User.Read.All"}, false, time.Hour)}})
			_, err := c.GetPresences(e.ctx, []string{"u1"})
			return err
		}},
		{name: "token source refuses", want: "get presences (ids 1-1): get access token: renew sign-in: not signed in", run: func(t *testing.T, e env) error {
			ts := mustSource(t, testConfig(t, e.s, ModeDeviceCode))
			_, err := e.client(Options{Tokens: ts}).GetPresences(e.ctx, []string{"u1"})
			return err
		}},
		{name: "sign-in unreachable", want: "list users (page 1): get access token: sign in to", run: func(t *testing.T, e env) error {
			cfg := testConfig(t, e.s, ModeClientSecret)
			cfg.ClientSecret = testSecret
			cfg.Cloud.AuthorityHost = closedOrigin(t)
			_, err := e.client(Options{Tokens: mustSource(t, cfg)}).ListUsers(e.ctx)
			return err
		}},
		{name: "entra fails on refresh, via the client", want: "clear presence for u1: get access token: renew sign-in: entra: temporarily_unavailable", run: func(t *testing.T, e env) error {
			ts := signedInSource(t, e.s)
			e.s.AddFault(graphtest.Fault{Path: "/" + testTenant + "/oauth2/v2.0/token", Status: 503})
			return e.client(Options{Tokens: ts}).ClearPresence(e.ctx, "u1", "app")
		}},
		{name: "entra fails on refresh, token source alone", want: "renew sign-in: entra: temporarily_unavailable", run: func(t *testing.T, e env) error {
			ts := signedInSource(t, e.s)
			e.s.AddFault(graphtest.Fault{Path: "/" + testTenant + "/oauth2/v2.0/token", Status: 503})
			_, err := ts.Token(e.ctx)
			return err
		}},
		{name: "wrong client secret", want: "sign in to contoso.onmicrosoft.com with client-secret: invalid_client", run: func(t *testing.T, e env) error {
			e.s.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClient, ClientSecret: "other"})
			cfg := testConfig(t, e.s, ModeClientSecret)
			cfg.ClientSecret = testSecret
			_, err := e.client(Options{Tokens: mustSource(t, cfg)}).ListUsers(e.ctx)
			return err
		}},
		{name: "graph unreachable", want: "list users (page 1): Get ", run: func(t *testing.T, e env) error {
			c := e.client(Options{Endpoint: closedOrigin(t), MaxAttempts: 2})
			_, err := c.ListUsers(e.ctx)
			return err
		}},
		{name: "retries run out", want: "(gave up after 2 attempts)", run: func(t *testing.T, e env) error {
			e.s.AddFault(graphtest.Fault{Path: "/v1.0/users", Status: 503})
			_, err := e.client(Options{MaxAttempts: 2}).ListUsers(e.ctx)
			return err
		}},
		{name: "wait cut short", want: "(while waiting to retry: context canceled)", run: func(t *testing.T, e env) error {
			e.s.AddFault(graphtest.Fault{Path: "/v1.0/users/u1/presence/setPresence", Status: 429, RetryAfter: "5"})
			c := e.client(Options{Sleep: func(context.Context, time.Duration) error { return context.Canceled }})
			return c.SetPresence(e.ctx, "u1", session)
		}},
		{name: "throttled", want: "get presences (ids 1-1): throttled: Graph asked to wait until", run: func(t *testing.T, e env) error {
			e.s.AddFault(graphtest.Fault{Path: "/v1.0/communications/", Status: 429, RetryAfter: "30"})
			_, err := e.client(Options{MaxWait: 10 * time.Second}).GetPresences(e.ctx, []string{"u1"})
			return err
		}},
		{name: "not before", want: "list members of group g1 (page 1): throttled:", run: func(t *testing.T, e env) error {
			c := e.client(Options{NotBefore: time.Now().Add(time.Hour)})
			_, err := c.ListGroupUsers(e.ctx, "g1")
			return err
		}},
		{name: "answer not JSON", want: "list users (page 1): decode 200 answer:", run: func(t *testing.T, e env) error {
			c := e.client(Options{HTTPClient: &http.Client{Transport: canned(200, "<html>")}})
			_, err := c.ListUsers(e.ctx)
			return err
		}},
		{name: "next link elsewhere", want: "list users: page 1: next link leaves the Graph endpoint", run: func(t *testing.T, e env) error {
			c := e.client(Options{HTTPClient: &http.Client{Transport: canned(200, `{"value":[],"@odata.nextLink":"https://evil.example/v1.0/users"}`)}})
			_, err := c.ListUsers(e.ctx)
			return err
		}},
		{name: "invalid pair", want: "set presence for u1: invalid presence: setPresence does not accept", run: func(t *testing.T, e env) error {
			return e.client(Options{}).SetPresence(e.ctx, "u1", SessionPresence{SessionID: "app", Availability: "Busy", Activity: "Busy"})
		}},
		{name: "no token source", want: "list users (page 1): no token source configured", run: func(t *testing.T, e env) error {
			_, err := NewClient(Options{Endpoint: e.s.Origin()}).ListUsers(e.ctx)
			return err
		}},
		{name: "endpoint not a URL", want: "not an absolute URL", run: func(t *testing.T, e env) error {
			_, err := e.client(Options{Endpoint: "graph.microsoft.com"}).ListUsers(e.ctx)
			return err
		}},
		{name: "empty token", want: "get access token: token source returned an empty token", run: func(t *testing.T, e env) error {
			_, err := e.client(Options{Tokens: fixedTokens{}}).ListUsers(e.ctx)
			return err
		}},
		{name: "bad configuration", want: "microsoft.tenant", run: func(t *testing.T, e env) error {
			cfg := testConfig(t, e.s, ModeClientSecret)
			cfg.Tenant = ""
			_, err := NewTokenSource(cfg)
			return err
		}},
		{name: "token not a JWT", want: "read token permissions: not a JWT", run: func(t *testing.T, e env) error {
			_, _, err := TokenPermissions("opaque")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newEntra(t)
			s.AddUser(graphtest.User{ID: "u1"})
			e := env{s: s, ctx: t.Context()}
			e.client = func(o Options) *Client {
				if o.Endpoint == "" {
					o.Endpoint = s.Origin()
				}
				if o.Tokens == nil {
					o.Tokens = fixedTokens{tok: s.IssueToken([]string{"User.Read.All", "Presence.Read.All", "Presence.ReadWrite.All", "GroupMember.Read.All"}, false, time.Hour)}
				}
				if o.HTTPClient == nil {
					o.HTTPClient = s.Client()
				}
				if o.Sleep == nil {
					o.Sleep = noSleep
				}
				return NewClient(o)
			}
			err := tt.run(t, e)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "graph: ") || strings.Count(msg, "graph:") != 1 {
				t.Errorf("error names the service %d times, want once at the start:\n%s", strings.Count(msg, "graph:"), msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\ndoes not contain %q", msg, tt.want)
			}
		})
	}
}

// signedInSource is a device-code token source holding a refresh token and an access token
// that has run out, so its next Token refreshes.
func signedInSource(t *testing.T, s *graphtest.Server) *CachedTokenSource {
	t.Helper()
	s.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClient, PublicClient: true,
		Scopes: []string{"Presence.Read.All", "User.Read.All"}})
	cfg := testConfig(t, s, ModeDeviceCode)
	ts := mustSource(t, cfg)
	ts.store(&tokenFile{AccessToken: "expired", ExpiresAt: time.Now().Add(-time.Hour), Scopes: ts.scopes, RefreshToken: "1.AQEA-unknown"})
	return ts
}
