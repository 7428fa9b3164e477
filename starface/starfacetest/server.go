// Package starfacetest is a test double of the STARFACE REST API parts teamsface uses, built on
// net/http/httptest the way httptest sits beside net/http.
//
// It is written from STARFACE's documentation (../shared/api/starface.md and the Swagger file
// starface-api-6.7.0.22.yaml), not from our client, and refuses what STARFACE refuses: requests
// without X-Version: 2, unknown or reused nonces, wrong secrets (400), missing or expired
// authTokens (401), phone config PUTs that lack one of the four fields or carry a wrong JSON
// type (400), and a non-administrator writing another user's phone config (403). Errors are
// STARFACE's {"code","message"} JSON. Every request is recorded; latency and failures can be
// injected on chosen calls.
//
// EnableRealm adds STARFACE 10's OAuth realm as third-party clients describe it (realm.go), and
// DisableClassicLogin removes the classic login, as on a PBX where it is switched off.
package starfacetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/teamsface/teamsface/internal/doubles"
	"github.com/teamsface/teamsface/internal/testtls"
	"github.com/teamsface/teamsface/starface"
)

// User is a STARFACE user as the double knows it.
type User struct {
	ID         int // REST id
	Login      string
	Password   string
	Email      string
	FirstName  string
	FamilyName string
	Admin      bool // may change other users' phone configs
	Phone      starface.PhoneConfig
	// Rights are the user's STARFACE rights by name, e.g. starface.RightOAuthPasswordGrant,
	// which the realm's password grant requires. Admin adds "Administrator".
	Rights []string
}

// Fault is an injected failure or latency for requests whose method matches ("" = any) and
// whose path starts with Path. It is used Times times (0 = for ever). It is graphtest.Fault's
// type; errors are answered in STARFACE's {"code","message"} JSON, Code "" meaning the status
// number, as in the double's other errors. A Delay ends early when the client gives up (the
// request's context is done): the handler then answers nothing and the request is logged with
// Status 0.
type Fault = doubles.Fault

// Request is one request the server got, as tests see it in Server.Requests, with the answer
// it got. Header holds the sensitive headers (authToken, Authorization) as they came, for tests
// to assert on; the double itself logs nothing.
type Request = doubles.Request

// httpDouble gives Server the request log and the faults (AddFault, ClearFaults, Requests,
// ResetRequests, CountRequests, InFlight, MaxInFlight) without an exported field.
type httpDouble = doubles.HTTP

// Server is the double. Its zero value is not usable; call NewServer and Close it.
//
// Besides its own methods it has those the HTTP doubles share (internal/doubles.HTTP):
// AddFault(Fault), ClearFaults(), Requests() []Request, ResetRequests(),
// CountRequests(method, pathPrefix string) int, InFlight() int and MaxInFlight() int.
type Server struct {
	*httptest.Server
	httpDouble

	mu        sync.Mutex
	mux       *http.ServeMux
	patterns  []string
	users     map[int]*User
	groups    map[int]*group
	nonces    map[string]bool
	sessions  map[string]session
	ttl       time.Duration
	now       func() time.Time
	loginType string
	logins    int

	classicOff bool
	realm      *realm // nil: no OAuth realm (STARFACE up to 9.x)
	rights     []string
}

type group struct {
	id      int
	name    string
	members map[int]bool
}

type session struct {
	userID int
	issued time.Time
}

// NewServer starts a TLS server (s.URL, s.Client(), s.Certificate()). Tokens live 4 hours, as
// on STARFACE, and loginType is Internal.
func NewServer() *Server {
	s := &Server{
		mux:       http.NewServeMux(),
		users:     map[int]*User{},
		groups:    map[int]*group{},
		nonces:    map[string]bool{},
		sessions:  map[string]session{},
		ttl:       4 * time.Hour,
		now:       time.Now,
		loginType: "Internal",
	}
	s.routes()
	s.Server = testtls.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doubles.Serve(&s.httpDouble, w, r, http.HandlerFunc(s.handle), answerFault)
	}))
	return s
}

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = &u
}

// AddGroup adds or replaces a group with these members (REST user ids).
func (s *Server) AddGroup(id int, name string, memberIDs ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &group{id: id, name: name, members: map[int]bool{}}
	for _, m := range memberIDs {
		g.members[m] = true
	}
	s.groups[id] = g
}

// SetDND is the user pressing the DND key on the phone.
func (s *Server) SetDND(userID int, on bool) {
	defer s.dndChanged(userID) // after the unlock below: tells OneHub subscribers (telephony.go)
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userID]; u != nil {
		u.Phone.DoNotDisturb = on
	}
}

// PhoneConfigOf returns a user's phone config as the PBX holds it.
func (s *Server) PhoneConfigOf(userID int) starface.PhoneConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userID]; u != nil {
		return u.Phone
	}
	return starface.PhoneConfig{}
}

// SetTokenTTL changes how long tokens issued from now on, and already issued ones, are valid.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = d
}

// SetClock replaces the server's notion of now (token expiry).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetLoginType sets what GET /rest/login announces: "Internal" (default) or "ActiveDirectory".
func (s *Server) SetLoginType(t string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loginType = t
}

// ExpireTokens invalidates every token issued so far (classic tokens and OAuth access tokens;
// refresh tokens stay good), as a PBX restart would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
	if s.realm != nil {
		clear(s.realm.access)
	}
}

// DisableClassicLogin removes the classic login: /rest/login answers 404, as on a STARFACE 10
// where it is switched off (it goes away with 11).
func (s *Server) DisableClassicLogin() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.classicOff = true
}

// GrantRight gives a user a STARFACE right (e.g. starface.RightOAuthPasswordGrant).
func (s *Server) GrantRight(userID int, right string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userID]; u != nil && !slices.Contains(u.Rights, right) {
		u.Rights = append(u.Rights, right)
	}
}

// Logins counts successful sign-ins: POST /rest/login and the realm's password grants.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// answerFault answers an injected fault in STARFACE's error shape.
func answerFault(w http.ResponseWriter, _ *http.Request, f Fault) {
	code := f.Code
	if code == "" {
		code = strconv.Itoa(f.Status)
	}
	writeJSON(w, f.Status, map[string]string{"code": code, "message": "injected fault"})
}

type callerKey struct{}

// handle applies the checks every STARFACE REST request goes through, then routes it. The
// realm's endpoints (outside /rest) take none of them.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/rest/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	// The knowledge base sends X-Version=2 with every call, GET /rest/login included; how a
	// PBX answers without it is not documented, a 400 with the usual error body stands in.
	if r.Header.Get("X-Version") != "2" {
		writeError(w, http.StatusBadRequest, "missing or unsupported X-Version header, expected 2")
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, "content type must be application/json")
			return
		}
	}
	if r.URL.Path == "/rest/login" {
		s.mu.Lock()
		off := s.classicOff
		s.mu.Unlock()
		if off {
			writeError(w, http.StatusNotFound, "no such resource: "+r.Method+" "+r.URL.Path)
			return
		}
	}
	if r.URL.Path != "/rest/login" {
		u, msg := s.authenticate(r.Header.Get("authToken"), r.Header.Get("Authorization"))
		if u == nil {
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, u))
	}
	s.mux.ServeHTTP(w, r)
}

// authenticate returns a copy of the user of a classic authToken or an OAuth access token
// (Authorization: Bearer), or nil and why not.
func (s *Server) authenticate(tok, authz string) (*User, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if bearer, ok := strings.CutPrefix(authz, "Bearer "); ok && tok == "" {
		return s.bearerLocked(bearer)
	}
	if tok == "" {
		return nil, "missing authToken"
	}
	se, ok := s.sessions[tok]
	if !ok {
		return nil, "invalid authToken"
	}
	if !s.now().Before(se.issued.Add(s.ttl)) {
		delete(s.sessions, tok)
		return nil, "authToken expired"
	}
	u := s.users[se.userID]
	if u == nil {
		return nil, "invalid authToken"
	}
	cp := *u
	return &cp, ""
}

func caller(r *http.Request) *User { return r.Context().Value(callerKey{}).(*User) }

// writeError answers in STARFACE's error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"code": strconv.Itoa(status), "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortedIDs[T any](m map[int]T) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
