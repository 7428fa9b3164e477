// Package graphtest is a test double of Microsoft Entra sign-in and the parts of Microsoft Graph
// teamsface uses, built on net/http/httptest the way httptest sits beside net/http.
//
// It is written from Microsoft's documentation (see ../shared/api/graph.md), not from our client:
// it refuses what the real service refuses (more than 650 ids, $top above 999, unknown presence
// pairs, expired tokens, a delegated token writing another user's presence, a delegated request
// for an application-only permission), takes what it accepts (request bodies compressed with
// gzip, as Microsoft's Graph SDKs send them; the type cast as microsoft.graph.user or graph.user)
// and answers errors, unknown paths and methods included, in Graph's and Entra's own JSON shapes.
package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/teamsface/teamsface/internal/doubles"
	"github.com/teamsface/teamsface/internal/testtls"
)

// Request is one request the server received, with the answer it got, as tests see it in
// Server.Requests. Header holds the request's headers as they came, Authorization included, so
// tests can assert on them; the double itself never logs them. Body is the body as the Graph
// handlers read it: decoded, when it came with Content-Encoding: gzip (the header is kept), and
// as it came when it could not be decoded.
type Request = doubles.Request

// Fault is an injected failure or latency. It applies to requests whose method and path match
// (Method "" matches any method; Path is matched as a prefix) and is used Times times
// (0 means for ever). Errors are answered in the service's own shape: Graph's error JSON under
// /v1.0/ (Code defaults from the status, e.g. TooManyRequests), Entra's OAuth error JSON on the
// sign-in routes.
type Fault = doubles.Fault

// httpDouble gives Server the request log and the faults (AddFault, ClearFaults, Requests,
// ResetRequests, CountRequests, InFlight, MaxInFlight) without an exported field.
type httpDouble = doubles.HTTP

// Server plays Entra (the token endpoints under /{tenant}/oauth2/v2.0/) and Graph (under /v1.0/)
// on one TLS listener. Its zero value is not usable; call NewServer.
//
// Besides its own methods it has those the HTTP doubles share (internal/doubles.HTTP):
// AddFault(Fault), ClearFaults(), Requests() []Request, ResetRequests(),
// CountRequests(method, pathPrefix string) int, InFlight() int and MaxInFlight() int.
type Server struct {
	*httptest.Server
	httpDouble

	mu     sync.Mutex
	mux    *http.ServeMux
	tokens map[string]*issuedToken
	now    func() time.Time

	// Graph data, guarded by mu; see graph.go.
	graphState

	// Entra data, guarded by mu; see entra.go.
	entraState
}

type issuedToken struct {
	expires   time.Time
	perms     map[string]bool // roles (application) or scp entries (delegated)
	delegated bool
	user      string // delegated: the signed-in user's object id (oid), lower case; "" unknown
}

// NewServer starts a TLS server. Clients must trust Server.Client()'s TLS config or
// Server.Certificate(). The caller closes it (t.Cleanup(s.Close)).
func NewServer() *Server {
	s := &Server{
		mux:    http.NewServeMux(),
		tokens: map[string]*issuedToken{},
		now:    time.Now,
	}
	s.initGraph()
	s.initEntra()
	s.Server = testtls.NewServer(http.HandlerFunc(s.serve)) // see wire.go
	return s
}

// URL of the server as an origin (https://127.0.0.1:port), usable both as authority_host and
// graph_endpoint.
func (s *Server) Origin() string { return s.Server.URL }

// SetClock replaces the server's notion of now (token expiry, session expiry).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// ExpireTokens makes every access token issued so far invalid, as if its lifetime had ended.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.expires = time.Time{}
	}
}

// IssueToken mints an access token directly (bypassing sign-in) with the given roles
// (application) or scopes (delegated), valid for ttl. A delegated token from IssueToken belongs to
// no user of the directory; IssueUserToken names the signed-in user. Tokens are shaped like JWTs so
// that clients can read their claims, as they can with Entra's.
func (s *Server) IssueToken(perms []string, delegated bool, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueTokenLocked(perms, delegated, "", ttl)
}

// IssueUserToken mints a delegated access token for the signed-in user userID (an object id)
// with the given scopes, valid for ttl.
func (s *Server) IssueUserToken(userID string, scopes []string, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueTokenLocked(scopes, true, userID, ttl)
}

func (s *Server) issueTokenLocked(perms []string, delegated bool, user string, ttl time.Duration) string {
	exp := s.now().Add(ttl)
	claims := map[string]any{"exp": exp.Unix(), "iat": s.now().Unix(), "aud": "https://graph.microsoft.com", "jti": randomID()}
	if delegated {
		claims["scp"] = strings.Join(perms, " ")
		if user != "" {
			claims["oid"] = user
		}
	} else {
		claims["roles"] = perms
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	enc := base64.RawURLEncoding
	tok := enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig)
	set := map[string]bool{}
	for _, p := range perms {
		set[p] = true
	}
	s.tokens[tok] = &issuedToken{expires: exp, perms: set, delegated: delegated, user: strings.ToLower(user)}
	return tok
}

// authorize checks the bearer token of a Graph request and the permission it needs (any of perms).
// It writes Graph's error answer and returns false when the request must be refused.
// Called with mu held.
func (s *Server) authorizeLocked(w http.ResponseWriter, r *http.Request, perms ...string) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return false
	}
	it := s.tokens[tok]
	if it == nil {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return false
	}
	if !s.now().Before(it.expires) {
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return false
	}
	for _, p := range perms {
		if it.perms[p] {
			return true
		}
	}
	if len(perms) == 0 {
		return true
	}
	writeGraphError(w, r, http.StatusForbidden, "Forbidden", "Insufficient privileges to complete the operation.")
	return false
}

// answerFault answers an injected fault in the route's shape: Entra's OAuth error JSON on the
// sign-in routes, Graph's error JSON elsewhere.
func answerFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if isEntraPath(r.URL.Path) {
		writeEntraFault(w, r, f) // see entra.go
		return
	}
	code := f.Code
	if code == "" {
		code = defaultCode(f.Status)
	}
	writeGraphError(w, r, f.Status, code, http.StatusText(f.Status))
}

func defaultCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusGatewayTimeout:
		return "GatewayTimeout"
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "ResourceNotFound"
	default:
		return "generalException"
	}
}

// writeGraphError answers in Graph's documented error shape, echoing the client-request-id.
func writeGraphError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	reqID := randomID()
	clientReqID := r.Header.Get("client-request-id")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", reqID)
	if clientReqID != "" {
		w.Header().Set("client-request-id", clientReqID)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{
			"code":    code,
			"message": message,
			"innerError": map[string]string{
				"date":              time.Now().UTC().Format(time.RFC3339),
				"request-id":        reqID,
				"client-request-id": clientReqID,
			},
		},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomID returns a GUID-shaped random string.
func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}
