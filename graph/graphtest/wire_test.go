package graphtest

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
)

// The cast to user in both spellings Graph takes: microsoft.graph.user as Microsoft's docs
// write it and graph.user (the namespace alias) as msgraph-sdk-go sends it. Both are advanced
// queries.
func TestGroupCastSpellings(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	for _, id := range []string{"a", "b", "c"} {
		s.AddUser(User{ID: id})
	}
	s.AddGroup("top", "a", "inner")
	s.AddGroup("inner", "b")
	tok := s.IssueToken([]string{"GroupMember.Read.All"}, false, time.Hour)
	cl := map[string]string{"ConsistencyLevel": "eventual"}
	var want []any
	for _, cast := range []string{"microsoft.graph.user", "graph.user"} {
		path := "/v1.0/groups/top/transitiveMembers/" + cast
		status, m := call(t, s, "GET", path+"?$count=true&$select=id", tok, cl, "")
		if status != 200 || m["@odata.count"] != float64(2) {
			t.Fatalf("%s: %d %v", cast, status, m)
		}
		if want == nil {
			want = m["value"].([]any)
		} else if !reflect.DeepEqual(m["value"], want) {
			t.Errorf("%s: %v, want %v", cast, m["value"], want)
		}
		if status, m := call(t, s, "GET", path+"?$select=id", tok, nil, ""); status != 400 || errorCode(m) != "Request_UnsupportedQuery" {
			t.Errorf("%s without ConsistencyLevel and $count: %d %v", cast, status, m)
		}
		if status, m := call(t, s, "GET", "/v1.0/groups/nope/transitiveMembers/"+cast+"?$count=true", tok, cl, ""); status != 404 || errorCode(m) != "Request_ResourceNotFound" {
			t.Errorf("%s of an unknown group: %d %v", cast, status, m)
		}
	}
}

// fixedToken is a graph.TokenSource that hands out one token.
type fixedToken string

func (f fixedToken) Token(context.Context) (string, error) { return string(f), nil }
func (fixedToken) Invalidate(string)                       {}

// rewrite sends whatever the client asks for as method and path instead, and keeps the answer's
// header: the way to put a path the client would never build in front of its error decoder.
type rewrite struct {
	next         http.RoundTripper
	method, path string
	got          http.Header
}

func (rw *rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Method = rw.method
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = rw.path, "", ""
	resp, err := rw.next.RoundTrip(r)
	if resp != nil {
		rw.got = resp.Header
	}
	return resp, err
}

// Every path and method the double does not serve is answered in Graph's error JSON, with the
// status Graph gives, and teamsface's own client reads it as a Graph error.
func TestUnroutedGraphRequests(t *testing.T) {
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string
		wantMessage  string
		wantAllow    string
	}{
		{"GET", "/v1.0/nope", 400, "BadRequest", "Resource not found for the segment 'nope'.", ""},
		{"GET", "/v1.0/users/u1/mailboxSettings", 400, "BadRequest", "Resource not found for the segment 'mailboxSettings'.", ""},
		{"POST", "/v1.0/users/u1/presence/setPresence/now", 400, "BadRequest", "Resource not found for the segment 'now'.", ""},
		{"GET", "/v1.0/groups/g/transitiveMembers/microsoft.graph.group", 400, "BadRequest", "Resource not found for the segment 'microsoft.graph.group'.", ""},
		{"GET", "/v1.0//users", 400, "BadRequest", "Resource not found for the segment ''.", ""},
		{"GET", "/beta/users", 400, "BadRequest", "Invalid version.", ""},
		{"GET", "/users", 400, "BadRequest", "Invalid version.", ""},
		{"DELETE", "/v1.0/users/u1", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", "GET"},
		{"GET", "/v1.0/users/u1/presence/setPresence", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", "POST"},
		{"PATCH", "/v1.0/communications/getPresencesByUserId", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", "POST"},
		{"POST", "/v1.0/groups/g/transitiveMembers/graph.user", 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", "GET"},
	}
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1"})
	tok := s.IssueToken(allPerms, false, time.Hour)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rw := &rewrite{next: s.Client().Transport, method: tt.method, path: tt.path}
			c := graph.NewClient(graph.Options{
				Endpoint: s.URL, Tokens: fixedToken(tok), MaxAttempts: 1,
				HTTPClient: &http.Client{Transport: rw, Timeout: 10 * time.Second},
			})
			_, err := c.ListUsers(t.Context())
			var gerr *graph.Error
			if !errors.As(err, &gerr) {
				t.Fatalf("ListUsers sent as %s %s: %v, want a *graph.Error", tt.method, tt.path, err)
			}
			if gerr.Status != tt.wantStatus || gerr.Code != tt.wantCode || gerr.Message != tt.wantMessage || gerr.RequestID == "" {
				t.Errorf("got %d %q %q (request-id %q), want %d %q %q", gerr.Status, gerr.Code, gerr.Message, gerr.RequestID,
					tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			if got := rw.got.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if ct := rw.got.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// Entra's paths the double has no endpoint at, and a wrong method at one it has, are answered
// in Entra's OAuth error JSON.
func TestUnroutedEntraRequests(t *testing.T) {
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, ClientSecret: entraSecret})
	tests := []struct {
		method, path string
		wantStatus   int
		wantAADSTS   string
	}{
		{"GET", "/" + entraTenant + "/oauth2/v2.0/authorize", 404, "AADSTS9002313"},
		{"POST", "/" + entraTenant + "/oauth2/token", 404, "AADSTS9002313"},
		{"GET", "/" + entraTenant + "/v2.0/.well-known/other", 404, "AADSTS9002313"},
		{"GET", "/common/discovery/elsewhere", 404, "AADSTS9002313"},
		{"POST", "/" + entraTenant + "/oauth2//v2.0/token", 404, "AADSTS9002313"},
		{"GET", entraTokenPath(entraTenant), 405, "AADSTS900561"},
		{"PUT", "/" + entraTenant + "/oauth2/v2.0/devicecode", 405, "AADSTS900561"},
		{"POST", "/" + entraTenant + "/v2.0/.well-known/openid-configuration", 405, "AADSTS900561"},
		{"DELETE", "/common/discovery/instance", 405, "AADSTS900561"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			status, body := entraCall(t, s, tt.method, tt.path, nil)
			checkEntraError(t, status, body, tt.wantStatus, "invalid_request")
			if d, _ := body["error_description"].(string); !strings.HasPrefix(d, tt.wantAADSTS+": ") {
				t.Errorf("error_description %q, want %s", d, tt.wantAADSTS)
			}
		})
	}
}
