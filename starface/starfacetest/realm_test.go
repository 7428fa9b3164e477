package starfacetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface"
)

const secret = "realm-secret"

func newRealmFixture(t *testing.T, r Realm) (*fixture, *time.Time) {
	f := newFixture(t)
	now := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	f.s.SetClock(func() time.Time { return now })
	if r.ClientSecret == "" {
		r.ClientSecret = secret
	}
	f.s.EnableRealm(r)
	f.s.GrantRight(1, starface.RightOAuthPasswordGrant)
	return f, &now
}

// grant posts a form to the token endpoint; auth is "basic", "post" or "" (none).
func (f *fixture) grant(form url.Values, auth, id, sec string) (int, map[string]any, http.Header) {
	f.t.Helper()
	if auth == "post" {
		form.Set("client_id", id)
		form.Set("client_secret", sec)
	}
	req, _ := http.NewRequest("POST", f.s.URL+tokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth == "basic" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec))))
	}
	res, err := f.s.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, res.Header
}

func password(user, pw, scope string) url.Values {
	return url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}, "scope": {scope}}
}

func TestRealmDiscovery(t *testing.T) {
	f, _ := newRealmFixture(t, Realm{AuthMethods: []string{"client_secret_post"}})
	noRedirect := *f.s.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noRedirect.Get(f.s.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != realmDiscover {
		t.Fatalf("root discovery: %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = f.s.Client().Get(f.s.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TokenEndpoint string   `json:"token_endpoint"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if doc.TokenEndpoint != f.s.URL+tokenPath || len(doc.AuthMethods) != 1 || doc.AuthMethods[0] != "client_secret_post" {
		t.Errorf("discovery document %+v", doc)
	}
	// A 9.x: no realm, no discovery, no token endpoint.
	old := newFixture(t)
	for _, p := range []string{"/.well-known/openid-configuration", realmDiscover} {
		if res, err := old.s.Client().Get(old.s.URL + p); err != nil || res.StatusCode != 404 {
			t.Errorf("GET %s on a PBX without the realm: %v %v", p, err, res.StatusCode)
		} else {
			res.Body.Close()
		}
	}
	if st, _, _ := old.grant(password("0001", "admin", "pbx-login"), "basic", starface.DefaultClientID, secret); st != 404 {
		t.Errorf("token endpoint without the realm: %d", st)
	}
}

func TestRealmGrants(t *testing.T) {
	id := starface.DefaultClientID
	tests := []struct {
		name      string
		realm     Realm
		form      url.Values
		auth, sec string
		status    int
		code      string // the answer's "error"; "" = granted
	}{
		{"basic", Realm{}, password("0001", "admin", "pbx-login"), "basic", secret, 200, ""},
		{"form fields", Realm{}, password("0001", "admin", "pbx-login"), "post", secret, 200, ""},
		{"no client authentication", Realm{}, password("0001", "admin", "pbx-login"), "", secret, 401, "invalid_client"},
		{"wrong client secret", Realm{}, password("0001", "admin", "pbx-login"), "basic", "nope", 401, "invalid_client"},
		{"basic where discovery lists only form fields", Realm{AuthMethods: []string{"client_secret_post"}}, password("0001", "admin", "pbx-login"), "basic", secret, 401, "invalid_client"},
		{"form fields where only basic is listed", Realm{AuthMethods: []string{"client_secret_basic"}}, password("0001", "admin", "pbx-login"), "post", secret, 401, "invalid_client"},
		{"basic refused", Realm{RefuseBasic: true}, password("0001", "admin", "pbx-login"), "basic", secret, 401, "invalid_client"},
		{"wrong password", Realm{}, password("0001", "wrong", "pbx-login"), "basic", secret, 401, "invalid_grant"},
		{"unknown user", Realm{}, password("0099", "admin", "pbx-login"), "basic", secret, 401, "invalid_grant"},
		{"user without the right", Realm{}, password("0002", "user", "pbx-login"), "basic", secret, 403, "access_denied"},
		{"unknown scope", Realm{}, password("0001", "admin", "login"), "basic", secret, 400, "invalid_scope"},
		{"the other scope configured", Realm{Scopes: []string{"login"}}, password("0001", "admin", "login"), "basic", secret, 200, ""},
		{"no grant type", Realm{}, url.Values{"username": {"0001"}}, "basic", secret, 400, "invalid_request"},
		{"client credentials grant", Realm{}, url.Values{"grant_type": {"client_credentials"}}, "basic", secret, 400, "unsupported_grant_type"},
		{"unknown refresh token", Realm{}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "basic", secret, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newRealmFixture(t, tt.realm)
			st, m, h := f.grant(tt.form, tt.auth, id, tt.sec)
			if st != tt.status || (m["error"] != nil) != (tt.code != "") || (tt.code != "" && m["error"] != tt.code) {
				t.Fatalf("answer %d %v, want %d %q", st, m, tt.status, tt.code)
			}
			if tt.code != "" {
				return
			}
			if m["token_type"] != "Bearer" || m["expires_in"] != 300.0 || m["refresh_expires_in"] != 21600.0 || m["access_token"] == "" || m["refresh_token"] == "" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("token answer %v, headers %v", m, h)
			}
			// The access token works on /rest as a bearer token.
			req, _ := http.NewRequest("GET", f.s.URL+"/rest/users/me", nil)
			req.Header.Set("X-Version", "2")
			req.Header.Set("Authorization", "Bearer "+m["access_token"].(string))
			res, err := f.s.Client().Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("bearer on /rest: %v %v", err, res.StatusCode)
			}
			res.Body.Close()
		})
	}
}

// Refresh tokens rotate; access tokens expire after 300 s; RevokeSessions ends both.
func TestRealmLifetimes(t *testing.T) {
	f, now := newRealmFixture(t, Realm{})
	id := starface.DefaultClientID
	_, m, _ := f.grant(password("0001", "admin", "pbx-login"), "basic", id, secret)
	access, refresh := m["access_token"].(string), m["refresh_token"].(string)
	bearer := func(tok string) int {
		req, _ := http.NewRequest("GET", f.s.URL+"/rest/groups", nil)
		req.Header.Set("X-Version", "2")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := f.s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	*now = now.Add(299 * time.Second)
	if st := bearer(access); st != 200 || f.s.CheckAccessToken(access) != nil {
		t.Fatalf("access token at 299 s: %d, %v", st, f.s.CheckAccessToken(access))
	}
	*now = now.Add(time.Second)
	if err := f.s.CheckAccessToken(access); !errors.Is(err, ErrAccessTokenExpired) {
		t.Errorf("CheckAccessToken at 300 s: %v, want ErrAccessTokenExpired", err)
	}
	if st := bearer(access); st != 401 {
		t.Fatalf("access token at 300 s: %d, want 401", st)
	}
	if err := f.s.CheckAccessToken("nope"); !errors.Is(err, ErrAccessTokenInvalid) {
		t.Errorf("CheckAccessToken of an unknown token: %v", err)
	}
	refreshWith := func(tok string) (int, map[string]any) {
		st, m, _ := f.grant(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, "basic", id, secret)
		return st, m
	}
	st, m := refreshWith(refresh)
	if st != 200 || m["refresh_token"] == refresh {
		t.Fatalf("refresh: %d %v", st, m)
	}
	newRefresh := m["refresh_token"].(string)
	if st, m := refreshWith(refresh); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("reused refresh token: %d %v, want 400 invalid_grant", st, m)
	}
	if st := bearer(m["access_token"].(string)); st != 200 {
		t.Errorf("refreshed access token: %d", st)
	}
	*now = now.Add(6 * time.Hour)
	if st, m := refreshWith(newRefresh); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh token after 6 h: %d %v", st, m)
	}
	_, m, _ = f.grant(password("0001", "admin", "pbx-login"), "post", id, secret)
	f.s.RevokeSessions()
	if st := bearer(m["access_token"].(string)); st != 401 {
		t.Errorf("access token after RevokeSessions: %d", st)
	}
	if st, _ := refreshWith(m["refresh_token"].(string)); st != 400 {
		t.Errorf("refresh token after RevokeSessions: %d", st)
	}
	if f.s.CountGrants("password") != 2 || f.s.CountGrants("refresh_token") != 4 {
		t.Errorf("CountGrants: %d password, %d refresh", f.s.CountGrants("password"), f.s.CountGrants("refresh_token"))
	}
}

func TestClassicLoginOff(t *testing.T) {
	f := newFixture(t)
	tok := f.login("0001", "admin")
	f.s.DisableClassicLogin()
	for _, m := range []string{"GET", "POST", "DELETE"} {
		if st, body := f.call(m, "/rest/login", tok, map[string]string{"POST": "{}"}[m], false); st != 404 || !isError(body) {
			t.Errorf("%s /rest/login with the classic login off: %d %v", m, st, body)
		}
	}
}

func TestPermissions(t *testing.T) {
	f := newFixture(t)
	f.s.GrantRight(2, starface.RightOAuthPasswordGrant)
	admin, user := f.login("0001", "admin"), f.login("0002", "user")
	names := func(tok, path string) (int, []string) {
		req, _ := http.NewRequest("GET", f.s.URL+path, nil)
		req.Header.Set("X-Version", "2")
		req.Header.Set("authToken", tok)
		res, err := f.s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list []struct {
			ID         int    `json:"id"`
			Permission string `json:"permission"`
		}
		_ = json.NewDecoder(res.Body).Decode(&list)
		var out []string
		for _, p := range list {
			out = append(out, p.Permission)
		}
		return res.StatusCode, out
	}
	if st, got := names(admin, "/rest/permissions/users/1"); st != 200 || strings.Join(got, ",") != "Administrator" {
		t.Errorf("admin's own: %d %v", st, got)
	}
	if st, got := names(user, "/rest/permissions/users/2"); st != 200 || strings.Join(got, ",") != starface.RightOAuthPasswordGrant {
		t.Errorf("user's own: %d %v", st, got)
	}
	if st, _ := names(user, "/rest/permissions/users/1"); st != 403 {
		t.Errorf("user reading the admin's: %d, want 403", st)
	}
	if st, _ := names(admin, "/rest/permissions/users/99"); st != 404 {
		t.Errorf("unknown user: %d, want 404", st)
	}
}
