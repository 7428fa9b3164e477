// Package graphtest is a test double of Microsoft Entra sign-in and the parts of Microsoft Graph
// teamsface uses, built on net/http/httptest the way httptest sits beside net/http.
//
// It is written from Microsoft's documentation (see ../shared/api/graph.md), not from our client:
// it refuses what the real service refuses (more than 650 ids, $top above 999, unknown presence
// pairs, expired tokens, a delegated token writing another user's presence, a delegated request
// for an application-only permission) and answers errors in Graph's and Entra's own JSON shapes.
package graphtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"github.com/teamsface/teamsface/internal/testtls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Request is one request the server received, with the answer it got, as tests see it in
// Server.Requests. Header holds the request's headers as they came, Authorization included, so
// tests can assert on them; the double itself never logs them.
type Request struct {
	Method   string
	Path     string // URL path, e.g. /v1.0/communications/getPresencesByUserId
	Query    string // raw query, e.g. $select=id&$top=999
	Header   http.Header
	Body     []byte
	Status   int    // the status the server answered with; 0: the client gave up before an answer
	Response []byte // the body the server answered with
}

// Fault is an injected failure or latency. It applies to requests whose method and path match
// (Method "" matches any method; Path is matched as a prefix) and is used Times times
// (0 means for ever). Errors are answered in the service's own shape: Graph's error JSON under
// /v1.0/, Entra's OAuth error JSON on the sign-in routes.
type Fault struct {
	Method     string
	Path       string
	Status     int           // e.g. 429, 503, 500; 0: latency only
	RetryAfter string        // value of the Retry-After header, "" for none
	Code       string        // the service's error code in the body; defaults from the status
	Delay      time.Duration // latency added before answering; it ends early when the client gives up
	// HoldAnswer carries the request out, then holds its answer back this long (ending early
	// when the client gives up): a write that landed although its client never heard so, as
	// when the client is killed or times out.
	HoldAnswer time.Duration
	Times      int
	used       int
}

// Server plays Entra (the token endpoints under /{tenant}/oauth2/v2.0/) and Graph (under /v1.0/)
// on one TLS listener. Its zero value is not usable; call NewServer.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	mux       *http.ServeMux
	requests  []Request
	faults    []*Fault
	tokens    map[string]*issuedToken
	now       func() time.Time
	inFlight  int
	maxFlight int

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
	s.Server = testtls.NewServer(http.HandlerFunc(s.serve))
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

// AddFault registers an injected failure or latency.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected failure.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns a copy of the log of requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests empties the request log and the in-flight maximum.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.maxFlight = s.inFlight
}

// MaxInFlight is the most requests the server was handling at the same time (since NewServer or
// the last ResetRequests).
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFlight
}

// CountRequests counts logged requests with this method ("" = any) and path prefix.
func (s *Server) CountRequests(method, pathPrefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
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

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := readBody(r)
	rec := &recorder{ResponseWriter: w}

	s.mu.Lock()
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	f := s.matchFaultLocked(r)
	s.mu.Unlock()

	switch {
	case !s.applyFault(rec, r, f):
	case f != nil && f.HoldAnswer > 0:
		s.serveHeld(rec, r, f.HoldAnswer)
	default:
		s.mux.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK // what net/http sends for a handler that wrote nothing
		}
	}

	s.mu.Lock()
	s.inFlight--
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, Status: rec.status, Response: bytes.Clone(rec.body.Bytes()),
	})
	s.mu.Unlock()
}

// serveHeld carries the request out, then holds the answer back for d or until the client
// leaves; a client that left gets nothing and the request is logged with status 0.
func (s *Server) serveHeld(w *recorder, r *http.Request, d time.Duration) {
	held := httptest.NewRecorder()
	s.mux.ServeHTTP(held, r)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	for k, v := range held.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(held.Code)
	_, _ = w.Write(held.Body.Bytes())
}

// applyFault waits and/or answers as f says; it reports whether the request goes on to the
// service. A client that gives up during the latency leaves with no answer: the request never
// reached the service, and the handler does not hold the connection.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f == nil {
		return true
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if f.Status == 0 {
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if isEntraPath(r.URL.Path) {
		writeEntraFault(w, r, f) // sign-in routes answer in Entra's shape; see entra.go
		return false
	}
	code := f.Code
	if code == "" {
		code = defaultCode(f.Status)
	}
	writeGraphError(w, r, f.Status, code, http.StatusText(f.Status))
	return false
}

// matchFaultLocked returns a copy of the first fault that applies, and counts its use.
func (s *Server) matchFaultLocked(r *http.Request) *Fault {
	for _, f := range s.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if !strings.HasPrefix(r.URL.Path, f.Path) {
			continue
		}
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		f.used++
		cp := *f
		return &cp
	}
	return nil
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

// recorder keeps the status and body of an answer for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data, err
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
