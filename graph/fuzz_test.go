package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every JSON answer teamsface decodes from Graph and Entra. Their seed corpora
// (testdata/fuzz/FuzzXxx) are the documented answers and the odd ones seen in the wild; plain
// `go test` runs them, `go test -fuzz FuzzXxx` explores from them. The properties: no decoder
// panics, every error names the service, and nothing decoded breaks what callers rely on.

// fuzzOrigin is the Graph endpoint the fuzzed answers come from.
const fuzzOrigin = "https://graph.fuzz.test"

// fuzzClient answers every request with status and body.
func fuzzClient(status int, body []byte) *Client {
	return NewClient(Options{
		Endpoint: fuzzOrigin,
		Tokens:   fixedTokens{tok: "token"},
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b := body
			if r.URL.Query().Has("$skiptoken") {
				b = []byte(`{"value":[]}`) // the page after a next link that was followed
			}
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(string(b))), Request: r}, nil
		})},
		MaxAttempts: 1,
		Sleep:       noSleep,
	})
}

func checkGraphError(t *testing.T, err error) {
	t.Helper()
	if err != nil && !strings.HasPrefix(err.Error(), "graph: ") {
		t.Fatalf("error does not name the service: %q", err)
	}
}

// FuzzPresenceAnswer: getPresencesByUserId's answer, {"value": [presence, ...]}.
func FuzzPresenceAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, idList string) {
		ids := strings.Split(idList, ",")
		res, err := fuzzClient(http.StatusOK, body).GetPresences(context.Background(), ids)
		checkGraphError(t, err)
		asked := map[string]bool{}
		for _, id := range uniqueIDs(ids) {
			asked[id] = true
		}
		for id, p := range res.Presences {
			if !asked[id] || p.ID != id {
				t.Fatalf("presence %+v under %q, which was not asked for as such", p, id)
			}
			// What was decoded survives a round trip through JSON, out of office included.
			b, err := json.Marshal(p)
			var again Presence
			if err != nil || json.Unmarshal(b, &again) != nil || again != p {
				t.Fatalf("round trip of %+v: %s, %+v", p, b, again)
			}
		}
		for _, id := range res.Missing {
			if _, ok := res.Presences[id]; ok || !asked[id] {
				t.Fatalf("missing id %q is also answered, or was never asked for", id)
			}
		}
		if err == nil && len(res.Presences)+len(res.Missing) != len(asked) {
			t.Fatalf("%d answered + %d missing of %d asked", len(res.Presences), len(res.Missing), len(asked))
		}
	})
}

// FuzzUsersPage: a page of /users, {"value": [user, ...], "@odata.nextLink": "..."}.
func FuzzUsersPage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		var sent []string
		c := fuzzClient(http.StatusOK, body)
		base := c.hc.Transport
		c.hc = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sent = append(sent, r.URL.String())
			return base.RoundTrip(r)
		})}
		_, err := c.ListUsers(context.Background())
		checkGraphError(t, err)
		for _, u := range sent {
			// Scheme and host compare without regard to case (RFC 3986 §6.2.2.1).
			if pu, perr := url.Parse(u); perr != nil || !strings.EqualFold(pu.Scheme+"://"+pu.Host, fuzzOrigin) {
				t.Fatalf("a request (with the bearer token) went to %q, off the Graph endpoint", u)
			}
		}
	})
}

// FuzzGraphError: Graph's error answer, {"error": {"code", "message", "innerError": {...}}},
// with its status and Retry-After header.
func FuzzGraphError(f *testing.F) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}},
			Body: io.NopCloser(strings.NewReader(string(body)))}
		e := readError(resp, now)
		if e.Status != status {
			t.Fatalf("status %d read as %d", status, e.Status)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("Retry-After %q read as %v, outside 0..%v", retryAfter, e.RetryAfter, maxRetryAfter)
		}
		if msg := e.Error(); !strings.HasPrefix(msg, "graph: ") {
			t.Fatalf("error %q does not name the service", msg)
		}
		if retryableStatus(status) && e.RetryAfter > 0 {
			te := &ThrottledError{Until: now.Add(e.RetryAfter), Err: e, asked: now}
			if !strings.HasPrefix(te.Error(), "graph: throttled: ") || !errors.Is(te, e) {
				t.Fatalf("throttled error %q", te)
			}
		}
	})
}

// FuzzEntraAnswer: the token endpoint's answer, a token or an OAuth error
// {"error", "error_description", "error_codes", ...}, with its status.
func FuzzEntraAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return // net/http cannot carry it
		}
		ts := &CachedTokenSource{cfg: AuthConfig{
			Cloud:  Cloud{AuthorityHost: "https://login.fuzz.test", GraphEndpoint: fuzzOrigin},
			Tenant: "contoso.onmicrosoft.com",
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(string(body))), Request: r}, nil
			})},
		}}
		tr, err := ts.postToken(context.Background(), url.Values{"grant_type": {"refresh_token"}})
		var ee *EntraError
		switch {
		case err == nil:
			if tr.AccessToken == "" || status != http.StatusOK {
				t.Fatalf("a %d answer without an access token taken for a token: %+v", status, tr)
			}
		case errors.As(err, &ee):
			if ee.Status != status || ee.Error() == "" || strings.Contains(ee.Description, "\n") {
				t.Fatalf("Entra error %+v from a %d", ee, status)
			}
		default:
			checkGraphError(t, err)
		}
	})
}
