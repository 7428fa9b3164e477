package starfacetest

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/teamsface/teamsface/starface"
)

// The STARFACE 10 OAuth realm "pbx", modelled from what third-party clients describe
// (../shared/api/starface.md "Login (STARFACE 10: OAuth)"; STARFACE documents none of it):
// discovery at the PBX root redirecting into the realm, a token endpoint at
// /auth/realms/pbx/oauth2/token (not Keycloak's usual path) with the password and refresh
// grants, rotating refresh tokens, client authentication by HTTP Basic or form fields, and the
// user right "API access with OAuth Password Grant". Refusals are answered the way Keycloak
// answers them: {"error", "error_description"} with 400 or 401. Keycloak has no standard code
// for a missing right; the double answers 403 access_denied (an assumption).

const (
	realmBase     = "/auth/realms/pbx"
	tokenPath     = realmBase + "/oauth2/token"
	realmDiscover = realmBase + "/.well-known/openid-configuration"
)

// Realm configures the OAuth realm (EnableRealm). Zero fields take the defaults.
type Realm struct {
	ClientID     string   // default rest-client-headless
	ClientSecret string   // the secret Server → Status → REST-API shows; required
	Scopes       []string // scopes the realm grants; default [pbx-login]
	// AuthMethods is discovery's token_endpoint_auth_methods_supported, and the client
	// authentications the token endpoint takes; default both client_secret_basic and
	// client_secret_post.
	AuthMethods []string
	// RefuseBasic makes the token endpoint refuse HTTP Basic although discovery lists it (one
	// third-party client needed form fields).
	RefuseBasic bool
	AccessTTL   time.Duration // default 300 s, as observed
	RefreshTTL  time.Duration // default 6 h, as observed
}

type realm struct {
	Realm
	access  map[string]accessToken
	refresh map[string]refreshToken
}

type accessToken struct {
	userID  int
	expires time.Time
}

type refreshToken struct {
	userID   int
	clientID string
	scope    string
	expires  time.Time
}

// EnableRealm turns the OAuth realm on (a STARFACE 10). Without it, discovery answers 404 as on
// STARFACE up to 9.x.
func (s *Server) EnableRealm(r Realm) {
	if r.ClientID == "" {
		r.ClientID = starface.DefaultClientID
	}
	if len(r.Scopes) == 0 {
		r.Scopes = []string{starface.DefaultScope}
	}
	if len(r.AuthMethods) == 0 {
		r.AuthMethods = []string{"client_secret_basic", "client_secret_post"}
	}
	if r.AccessTTL == 0 {
		r.AccessTTL = 300 * time.Second
	}
	if r.RefreshTTL == 0 {
		r.RefreshTTL = 6 * time.Hour
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.realm = &realm{Realm: r, access: map[string]accessToken{}, refresh: map[string]refreshToken{}}
}

// RevokeSessions ends every OAuth session, access and refresh tokens alike, as an
// administrator logging everyone out (or a restart that loses the realm's sessions) would.
func (s *Server) RevokeSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.realm != nil {
		clear(s.realm.access)
		clear(s.realm.refresh)
	}
}

// CountGrants counts requests to the token endpoint with this grant_type ("password",
// "refresh_token"), whatever they were answered.
func (s *Server) CountGrants(grantType string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == http.MethodPost && r.Path == tokenPath {
			if q, err := url.ParseQuery(string(r.Body)); err == nil && q.Get("grant_type") == grantType {
				n++
			}
		}
	}
	return n
}

func (s *Server) realmRoutes() {
	s.route("GET /.well-known/openid-configuration", s.rootDiscovery)
	s.route("GET "+realmDiscover, s.realmDiscovery)
	s.route("POST "+tokenPath, s.token)
}

func (s *Server) realmOn() *realm {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.realm
}

// rootDiscovery redirects into the realm, as observed on STARFACE 10; a PBX without the realm
// has no such page.
func (s *Server) rootDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.realmOn() == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	http.Redirect(w, r, realmDiscover, http.StatusFound)
}

func (s *Server) realmDiscovery(w http.ResponseWriter, r *http.Request) {
	rm := s.realmOn()
	if rm == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	origin := "https://" + r.Host
	s.mu.Lock()
	doc := map[string]any{
		"issuer":                                origin + realmBase,
		"token_endpoint":                        origin + tokenPath,
		"token_endpoint_auth_methods_supported": rm.AuthMethods,
		"grant_types_supported":                 []string{"password", "refresh_token"},
		"scopes_supported":                      rm.Scopes,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}

// oauthError answers in Keycloak's error shape.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	rm := s.realmOn()
	if rm == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "form content type expected")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	f := r.PostForm
	if code, desc, status := s.clientAuth(rm, r, f); code != "" {
		oauthError(w, status, code, desc)
		return
	}
	switch f.Get("grant_type") {
	case "password":
		s.passwordGrant(w, rm, f)
	case "refresh_token":
		s.refreshGrant(w, rm, f)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type")
	}
}

// clientAuth checks the client's id and secret, sent as HTTP Basic (form-encoded, RFC 6749
// 2.3.1) or as form fields, each only where the realm takes it. It returns an error code
// (and its description and status) or "".
func (s *Server) clientAuth(rm *realm, r *http.Request, f url.Values) (code, desc string, status int) {
	const invalid = "Invalid client or Invalid client credentials"
	s.mu.Lock()
	basicOK := slices.Contains(rm.AuthMethods, "client_secret_basic") && !rm.RefuseBasic
	postOK := slices.Contains(rm.AuthMethods, "client_secret_post")
	wantID, wantSecret := rm.ClientID, rm.ClientSecret
	s.mu.Unlock()
	var id, secret string
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic "); ok {
		if f.Has("client_secret") {
			return "invalid_request", "more than one client authentication method", http.StatusBadRequest
		}
		if !basicOK {
			return "invalid_client", invalid, http.StatusUnauthorized
		}
		raw, err := base64.StdEncoding.DecodeString(h)
		rawID, rawSecret, found := strings.Cut(string(raw), ":")
		if err != nil || !found {
			return "invalid_client", invalid, http.StatusUnauthorized
		}
		id, _ = url.QueryUnescape(rawID)
		secret, _ = url.QueryUnescape(rawSecret)
	} else {
		if !f.Has("client_secret") || !postOK {
			return "invalid_client", invalid, http.StatusUnauthorized
		}
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != wantID || secret != wantSecret {
		return "invalid_client", invalid, http.StatusUnauthorized
	}
	return "", "", 0
}

func (s *Server) passwordGrant(w http.ResponseWriter, rm *realm, f url.Values) {
	for _, p := range []string{"username", "password"} {
		if f.Get(p) == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Missing parameter: "+p)
			return
		}
	}
	scope := f.Get("scope")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range strings.Fields(scope) {
		if !slices.Contains(rm.Scopes, sc) {
			oauthError(w, http.StatusBadRequest, "invalid_scope", "Invalid scopes: "+scope)
			return
		}
	}
	var user *User
	for _, u := range s.users {
		if u.Login == f.Get("username") && u.Password == f.Get("password") {
			user = u
		}
	}
	switch {
	case user == nil:
		oauthError(w, http.StatusUnauthorized, "invalid_grant", "Invalid user credentials")
		return
	case !slices.Contains(user.Rights, starface.RightOAuthPasswordGrant):
		oauthError(w, http.StatusForbidden, "access_denied", "the user lacks the right "+starface.RightOAuthPasswordGrant)
		return
	}
	s.logins++
	s.issueLocked(w, rm, user.ID, rm.ClientID, scope)
}

func (s *Server) refreshGrant(w http.ResponseWriter, rm *realm, f url.Values) {
	tok := f.Get("refresh_token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing parameter: refresh_token")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := rm.refresh[tok]
	// Rotation: a refresh token is good for one use; a used, expired or revoked one is
	// refused with invalid_grant, and the client must sign in again.
	delete(rm.refresh, tok)
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Token is not active")
		return
	case !s.now().Before(rt.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Token is not active")
		return
	case rt.clientID != rm.ClientID:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Token client and authorized client don't match")
		return
	case s.users[rt.userID] == nil:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "User not found")
		return
	}
	s.issueLocked(w, rm, rt.userID, rt.clientID, rt.scope)
}

// issueLocked answers a granted request with a new access and refresh token.
func (s *Server) issueLocked(w http.ResponseWriter, rm *realm, userID int, clientID, scope string) {
	now := s.now()
	access, refresh := randomHex(32), randomHex(32)
	rm.access[access] = accessToken{userID: userID, expires: now.Add(rm.AccessTTL)}
	rm.refresh[refresh] = refreshToken{userID: userID, clientID: clientID, scope: scope, expires: now.Add(rm.RefreshTTL)}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":       access,
		"expires_in":         int(rm.AccessTTL / time.Second),
		"refresh_expires_in": int(rm.RefreshTTL / time.Second),
		"refresh_token":      refresh,
		"token_type":         "Bearer",
		"not-before-policy":  0,
		"session_state":      randomHex(8),
		"scope":              scope,
	})
}

// Errors of CheckAccessToken.
var (
	ErrAccessTokenExpired = errors.New("access token expired")
	ErrAccessTokenInvalid = errors.New("invalid access token")
)

// CheckAccessToken says whether the realm would take tok as a bearer token now: nil,
// ErrAccessTokenExpired or ErrAccessTokenInvalid. Other interfaces' doubles that take the same
// token (OneHub's, onehubtest.Options.CheckToken) validate against it.
func (s *Server) CheckAccessToken(tok string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.realm == nil {
		return ErrAccessTokenInvalid
	}
	at, ok := s.realm.access[tok]
	switch {
	case !ok:
		return ErrAccessTokenInvalid
	case !s.now().Before(at.expires):
		return ErrAccessTokenExpired
	}
	return nil
}

// bearerLocked returns a copy of an access token's user, or nil and why not.
func (s *Server) bearerLocked(tok string) (*User, string) {
	if s.realm == nil {
		return nil, "invalid authToken"
	}
	at, ok := s.realm.access[tok]
	switch {
	case !ok:
		return nil, "invalid access token"
	case !s.now().Before(at.expires):
		delete(s.realm.access, tok)
		return nil, "access token expired"
	}
	u := s.users[at.userID]
	if u == nil {
		return nil, "invalid access token"
	}
	cp := *u
	return &cp, ""
}
