package graphtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
)

// answer is a request's answer as the wire tests compare it.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// send posts body to the double, encoded as the Content-Encoding header says ("" none).
func send(t *testing.T, s *Server, method, path, tok, encoding string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, resp.StatusCode, data)
		}
	}
	return a
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stable drops what differs between two answers to the same request: request ids, dates and the
// server's address.
func stable(s *Server, m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(bytes.ReplaceAll(b, []byte(s.URL), []byte("{origin}")), &out)
	if e, ok := out["error"].(map[string]any); ok {
		delete(e, "innerError")
	}
	return out
}

// A body compressed as Microsoft's Graph SDKs send it is taken as the same body sent plain: the
// same answer, the same effect, and the request log holds it decoded.
func TestCompressedBodies(t *testing.T) {
	const user, other = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	setPresence := `{"sessionId":"app","availability":"Busy","activity":"InACall","expirationDuration":"PT1H"}`
	tests := []struct {
		name, path, body string
		setup            func(t *testing.T, s *Server, tok string)
		wantStatus       int
	}{
		{name: "getPresencesByUserId", path: "/v1.0/communications/getPresencesByUserId",
			body: `{"ids":["` + user + `","` + other + `"]}`, wantStatus: 200},
		{name: "getPresencesByUserId over 650 ids", path: "/v1.0/communications/getPresencesByUserId",
			body: idsBody(651), wantStatus: 400},
		{name: "setPresence", path: "/v1.0/users/" + user + "/presence/setPresence", body: setPresence, wantStatus: 200},
		{name: "setPresence refused pair", path: "/v1.0/users/" + user + "/presence/setPresence",
			body: `{"sessionId":"app","availability":"Busy","activity":"Busy"}`, wantStatus: 400},
		{name: "clearPresence", path: "/v1.0/users/" + user + "/presence/clearPresence", body: `{"sessionId":"app"}`,
			setup: func(t *testing.T, s *Server, tok string) {
				if a := send(t, s, "POST", "/v1.0/users/"+user+"/presence/setPresence", tok, "", []byte(setPresence)); a.status != 200 {
					t.Fatalf("setPresence: %d %v", a.status, a.body)
				}
			},
			wantStatus: 200},
		{name: "clearPresence without a session", path: "/v1.0/users/" + user + "/presence/clearPresence",
			body: `{"sessionId":"app"}`, wantStatus: 404},
	}
	type outcome struct {
		status   int
		body     map[string]any
		sessions []Session
		visible  [2]string
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(encoding string, body []byte) outcome {
				s := NewServer()
				t.Cleanup(s.Close)
				s.SetClock(func() time.Time { return time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC) })
				s.AddUser(User{ID: user, Availability: "Available", Activity: "Available"})
				s.AddUser(User{ID: other, Availability: "Away", Activity: "Away", OutOfOffice: true})
				tok := s.IssueToken(allPerms, false, time.Hour)
				if tt.setup != nil {
					tt.setup(t, s, tok)
				}
				a := send(t, s, "POST", tt.path, tok, encoding, body)
				reqs := s.Requests()
				if got := reqs[len(reqs)-1]; string(got.Body) != tt.body || got.Header.Get("Content-Encoding") != encoding {
					t.Errorf("%q: logged body %q, Content-Encoding %q; want the body decoded and the header as sent",
						encoding, got.Body, got.Header.Get("Content-Encoding"))
				}
				av, ac := s.PresenceOf(user)
				return outcome{a.status, stable(s, a.body), s.Sessions(user), [2]string{av, ac}}
			}
			plain := run("", []byte(tt.body))
			if plain.status != tt.wantStatus {
				t.Fatalf("plain: status %d %v, want %d", plain.status, plain.body, tt.wantStatus)
			}
			for _, enc := range []string{"gzip", "GZip", "x-gzip", "identity, gzip"} {
				if got := run(enc, gzipped(t, []byte(tt.body))); !reflect.DeepEqual(got, plain) {
					t.Errorf("%s: %+v\nplain: %+v", enc, got, plain)
				}
			}
			twice := gzipped(t, gzipped(t, []byte(tt.body)))
			if got := run("gzip, gzip", twice); !reflect.DeepEqual(got, plain) {
				t.Errorf("gzip twice: %+v\nplain: %+v", got, plain)
			}
		})
	}
}

// A body the double cannot decode is refused in Graph's error shape: an encoding Graph does not
// take with 415 (what makes Microsoft's SDKs send the body again uncompressed), a broken gzip
// body with Graph's 400 for an unreadable payload. Nothing reaches the handler.
func TestUndecodableBodies(t *testing.T) {
	const user = "11111111-1111-4111-8111-111111111111"
	body := []byte(`{"sessionId":"app","availability":"Busy","activity":"InACall"}`)
	zipped := gzipped(t, body)
	tests := []struct {
		name, encoding string
		body           []byte
		wantStatus     int
		wantCode       string
	}{
		{"brotli", "br", body, 415, "UnsupportedMediaType"},
		{"deflate", "deflate", body, 415, "UnsupportedMediaType"},
		{"gzip then an unknown coding", "gzip, compress", zipped, 415, "UnsupportedMediaType"},
		{"plain JSON said to be gzip", "gzip", body, 400, "BadRequest"},
		{"gzip cut short", "gzip", zipped[:len(zipped)-6], 400, "BadRequest"},
		{"gzip with garbage after it", "gzip", append(bytes.Clone(zipped), "{}"...), 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer()
			t.Cleanup(s.Close)
			s.AddUser(User{ID: user})
			tok := s.IssueToken(allPerms, false, time.Hour)
			a := send(t, s, "POST", "/v1.0/users/"+user+"/presence/setPresence", tok, tt.encoding, tt.body)
			checkGraphErrorShape(t, a, tt.wantStatus, tt.wantCode)
			if tt.wantStatus == 415 && a.header.Get("Accept-Encoding") != "gzip" {
				t.Errorf("415 without Accept-Encoding: gzip: %v", a.header)
			}
			if tt.wantStatus == 400 && !strings.HasPrefix(graphMessage(a.body), "Unable to read JSON request payload") {
				t.Errorf("message %q, want Graph's for an unreadable payload", graphMessage(a.body))
			}
			if got := s.Sessions(user); len(got) != 0 {
				t.Errorf("the refused request set a session: %v", got)
			}
			if logged := s.Requests()[0].Body; !bytes.Equal(logged, tt.body) {
				t.Errorf("logged body %q, want it as it came", logged)
			}
			// What the SDK does next: the same body, uncompressed, is taken.
			if a := send(t, s, "POST", "/v1.0/users/"+user+"/presence/setPresence", tok, "", body); a.status != 200 {
				t.Errorf("plain retry: %d %v", a.status, a.body)
			}
		})
	}
}

func graphMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// checkGraphErrorShape asserts Graph's documented error JSON: error.code, error.message and
// innerError with date, request-id (the header's) and client-request-id.
func checkGraphErrorShape(t *testing.T, a answer, wantStatus int, wantCode string) {
	t.Helper()
	if a.status != wantStatus || errorCode(a.body) != wantCode || graphMessage(a.body) == "" {
		t.Fatalf("got %d %v, want %d with code %s and a message", a.status, a.body, wantStatus, wantCode)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	e := a.body["error"].(map[string]any)
	inner, _ := e["innerError"].(map[string]any)
	date, _ := inner["date"].(string)
	if _, err := time.Parse(time.RFC3339, date); err != nil || inner["request-id"] != a.header.Get("request-id") || a.header.Get("request-id") == "" {
		t.Errorf("innerError %v, request-id header %q", inner, a.header.Get("request-id"))
	}
	if _, ok := inner["client-request-id"]; !ok {
		t.Errorf("innerError lacks client-request-id: %v", inner)
	}
}

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
