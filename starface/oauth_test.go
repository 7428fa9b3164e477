package starface_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/internal/testtls"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

const tokenPath = "/auth/realms/pbx/oauth2/token"

// pbx10 is a STARFACE 10 double: the realm as configured, 0001 with the OAuth right, the
// classic login off unless classic is true.
func pbx10(t *testing.T, r starfacetest.Realm, classic bool) *starfacetest.Server {
	t.Helper()
	s := newServer(t)
	if r.ClientSecret == "" {
		r.ClientSecret = clientSecret
	}
	s.EnableRealm(r)
	if !classic {
		s.DisableClassicLogin()
	}
	s.GrantRight(1, starface.RightOAuthPasswordGrant)
	return s
}

// tokenRequests returns the form of every request to the token endpoint, with its client
// authentication: "basic" or "post".
func tokenRequests(s *starfacetest.Server) (forms []url.Values, auths []string) {
	for _, r := range s.Requests() {
		if r.Method == "POST" && r.Path == tokenPath {
			f, _ := url.ParseQuery(string(r.Body))
			forms = append(forms, f)
			if strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
				auths = append(auths, "basic")
			} else {
				auths = append(auths, "post")
			}
		}
	}
	return forms, auths
}

// Which method a client picks, per PBX and configuration.
func TestSignInMethod(t *testing.T) {
	tests := []struct {
		name         string
		server       func(*testing.T) *starfacetest.Server
		auth, secret string
		method       string // "" = an error
		refused      string // with an error: AuthError.Refused, or "-" for a non-auth error
		errHas       string
	}{
		{"auto with secret on 10 without classic", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, false) },
			"", clientSecret, starface.MethodOAuth, "", ""},
		{"auto with secret on 10 with classic", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, true) },
			"", clientSecret, starface.MethodOAuth, "", ""},
		{"auto without secret on 10 with classic", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, true) },
			"", "", starface.MethodClassic, "", ""},
		{"auto with secret on 9.x", newServer, "auto", clientSecret, starface.MethodClassic, "", ""},
		{"auto without secret on 10 without classic", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, false) },
			"", "", "", "", "Server → Status → REST-API"},
		{"oauth on 9.x", newServer, "oauth", clientSecret, "", "", "has no OAuth realm"},
		{"oauth without secret", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, false) },
			"oauth", "", "", "", "no client secret configured"},
		{"classic on 10 without classic", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, false) },
			"classic", clientSecret, "", "", "set starface.auth to auto or oauth"},
		{"classic on 10 with classic", func(t *testing.T) *starfacetest.Server { return pbx10(t, starfacetest.Realm{}, true) },
			"classic", clientSecret, starface.MethodClassic, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.server(t)
			c := newClient(t, s, func(o *starface.Options) { o.Auth, o.ClientSecret = tt.auth, tt.secret })
			_, err := c.Users(context.Background())
			if tt.method == "" {
				var ae *starface.AuthError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want an AuthError saying %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Method() != tt.method || c.TokenInfo().Method != tt.method {
				t.Errorf("Method() = %q, want %q", c.Method(), tt.method)
			}
			for _, r := range s.Requests() {
				if r.Path != "/rest/users" {
					continue
				}
				bearer := strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
				if bearer != (tt.method == starface.MethodOAuth) || (r.Header.Get("authToken") != "") == bearer || r.Header.Get("X-Version") != "2" {
					t.Errorf("GET /rest/users headers: Authorization %q, authToken %q, X-Version %q",
						r.Header.Get("Authorization"), r.Header.Get("authToken"), r.Header.Get("X-Version"))
				}
			}
		})
	}
}

// The password grant carries the login, password and scope, the client authenticates with
// Basic unless discovery lists only form fields, and the token's lifetime is the realm's.
func TestPasswordGrant(t *testing.T) {
	tests := []struct {
		name      string
		realm     starfacetest.Realm
		wantAuths []string
		wantScope string
	}{
		{"basic", starfacetest.Realm{}, []string{"basic"}, "pbx-login"},
		{"discovery lists only client_secret_post", starfacetest.Realm{AuthMethods: []string{"client_secret_post"}}, []string{"post"}, "pbx-login"},
		{"basic refused, form fields taken", starfacetest.Realm{RefuseBasic: true}, []string{"basic", "post"}, "pbx-login"},
		{"pbx-login refused, login taken", starfacetest.Realm{Scopes: []string{"login"}}, []string{"basic", "basic"}, "login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := pbx10(t, tt.realm, false)
				hc := testtls.InMemory(t, s.Server)
				dir := t.TempDir()
				c := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.HTTPClient, o.TokenCacheDir = clientSecret, hc, dir })
				if _, err := c.Users(context.Background()); err != nil {
					t.Fatal(err)
				}
				forms, auths := tokenRequests(s)
				if strings.Join(auths, ",") != strings.Join(tt.wantAuths, ",") {
					t.Errorf("client authentication %v, want %v", auths, tt.wantAuths)
				}
				last := forms[len(forms)-1]
				if last.Get("grant_type") != "password" || last.Get("username") != "0001" || last.Get("password") != adminPW || last.Get("scope") != tt.wantScope {
					t.Errorf("grant form %v", redactForm(last))
				}
				if (last.Get("client_secret") != "") != (auths[len(auths)-1] == "post") {
					t.Errorf("client secret in the form = %v with %s authentication", last.Get("client_secret") != "", auths[len(auths)-1])
				}
				ti := c.TokenInfo()
				if ti.Lifetime() != 300*time.Second || !ti.RefreshExpiresAt.Equal(time.Now().Add(6*time.Hour)) || ti.Scope != tt.wantScope {
					t.Errorf("TokenInfo = %+v", ti)
				}
				// What was found out is remembered: the next run's sign-in asks once, directly.
				s.RevokeSessions()
				s.ResetRequests()
				c2 := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.HTTPClient, o.TokenCacheDir = clientSecret, hc, dir })
				if _, err := c2.Users(context.Background()); err != nil {
					t.Fatal(err)
				}
				if n := s.CountRequests("", "/.well-known/"); n != 0 {
					t.Errorf("%d discovery requests with a cached session, want 0", n)
				}
				// The cached access token meets a 401; the refresh is refused (sessions revoked);
				// one password grant follows, with the client authentication that worked before.
				if forms, auths := tokenRequests(s); len(auths) != 2 || auths[1] != tt.wantAuths[len(tt.wantAuths)-1] || forms[1].Get("scope") != tt.wantScope {
					t.Errorf("second run's token requests %v", auths)
				}
			})
		})
	}
}

func redactForm(f url.Values) url.Values {
	f = url.Values(http.Header(f).Clone())
	for _, k := range []string{"password", "client_secret", "refresh_token"} {
		if f.Has(k) {
			f.Set(k, "***")
		}
	}
	return f
}

// Access tokens live 300 s: the client refreshes shortly before, always with the newest
// refresh token, and the used one is refused by the realm afterwards.
func TestRefreshRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := pbx10(t, starfacetest.Realm{}, false)
		hc := testtls.InMemory(t, s.Server)
		c := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.HTTPClient = clientSecret, hc })
		ctx := context.Background()
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
		var issued []string // refresh tokens in the order the realm issued them
		lastRefresh := func() string {
			reqs := s.Requests()
			for i := len(reqs) - 1; i >= 0; i-- {
				if reqs[i].Path == tokenPath && reqs[i].Status == 200 {
					var a struct {
						RefreshToken string `json:"refresh_token"`
					}
					_ = json.Unmarshal(reqs[i].Response, &a)
					return a.RefreshToken
				}
			}
			return ""
		}
		issued = append(issued, lastRefresh())
		time.Sleep(250 * time.Second) // still good: no token request
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
		if n := s.CountGrants("refresh_token"); n != 0 {
			t.Fatalf("refreshed %d times at 250 s of 300, want 0", n)
		}
		for round := 1; round <= 2; round++ {
			time.Sleep(40 * time.Second) // within 30 s of the end: refresh before using it
			if _, err := c.Users(ctx); err != nil {
				t.Fatal(err)
			}
			forms, _ := tokenRequests(s)
			used := forms[len(forms)-1]
			if used.Get("grant_type") != "refresh_token" || used.Get("refresh_token") != issued[len(issued)-1] {
				t.Fatalf("round %d: grant %v, want a refresh with the newest refresh token", round, redactForm(used))
			}
			issued = append(issued, lastRefresh())
			time.Sleep(250 * time.Second)
		}
		if s.CountGrants("refresh_token") != 2 || s.CountGrants("password") != 1 || c.Stats().Refreshes != 2 || c.Stats().Logins != 1 {
			t.Errorf("grants: %d refresh, %d password; stats %+v", s.CountGrants("refresh_token"), s.CountGrants("password"), c.Stats())
		}
		for _, r := range s.Requests() {
			if r.Status == http.StatusUnauthorized {
				t.Errorf("%s %s answered 401: the token was not renewed in time", r.Method, r.Path)
			}
		}
		// Rotation: the first refresh token was used and is refused now.
		res, err := hc.PostForm(s.URL+tokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {issued[0]},
			"client_id": {starface.DefaultClientID}, "client_secret": {clientSecret}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("a used refresh token answered %d, want 400 invalid_grant", res.StatusCode)
		}
	})
}

// A 401 on /rest (access token dropped by the PBX) refreshes once and retries once; a revoked
// session (refresh refused) leads to one fresh password grant.
func TestOAuthRenewalOn401(t *testing.T) {
	tests := []struct {
		name                string
		break_              func(*starfacetest.Server)
		wantRefresh, wantPW int
	}{
		{"access tokens dropped", (*starfacetest.Server).ExpireTokens, 1, 1},
		{"sessions revoked", (*starfacetest.Server).RevokeSessions, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pbx10(t, starfacetest.Realm{}, false)
			c := newClient(t, s, func(o *starface.Options) { o.ClientSecret = clientSecret })
			ctx := context.Background()
			if _, err := c.Users(ctx); err != nil {
				t.Fatal(err)
			}
			tt.break_(s)
			if _, err := c.PhoneConfig(ctx, 17); err != nil {
				t.Fatal(err)
			}
			if r, p := s.CountGrants("refresh_token"), s.CountGrants("password"); r != tt.wantRefresh || p != tt.wantPW {
				t.Errorf("refresh grants %d, password grants %d; want %d and %d", r, p, tt.wantRefresh, tt.wantPW)
			}
			if n := s.CountRequests("GET", "/rest/users/17/phoneconfig"); n != 2 {
				t.Errorf("phone config requests %d, want 2 (the 401 and the retry)", n)
			}
		})
	}
	// A token refused again right after a refresh is an error, not a loop.
	s := pbx10(t, starfacetest.Realm{}, false)
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users", Status: 401})
	c := newClient(t, s, func(o *starface.Options) { o.ClientSecret = clientSecret })
	_, err := c.Users(context.Background())
	var se *starface.Error
	if !errors.As(err, &se) || se.Status != 401 || s.CountRequests("GET", "/rest/users") != 2 || s.CountGrants("refresh_token") != 1 {
		t.Errorf("persistent 401: err %v, %d requests, %d refreshes", err, s.CountRequests("GET", "/rest/users"), s.CountGrants("refresh_token"))
	}
}

// A refused grant says which part was refused, as an AuthError, and never the password or the
// secret.
func TestOAuthRefusals(t *testing.T) {
	tests := []struct {
		name    string
		realm   starfacetest.Realm
		mod     func(*starface.Options)
		refused string
		has     string
	}{
		{"wrong client secret", starfacetest.Realm{}, func(o *starface.Options) { o.ClientSecret = "not-the-" + clientSecret },
			starface.RefusedClient, "Server → Status → REST-API"},
		{"unknown client", starfacetest.Realm{}, func(o *starface.Options) { o.ClientID = "rest-client" }, starface.RefusedClient, "refused the client rest-client"},
		{"wrong password", starfacetest.Realm{}, func(o *starface.Options) { o.Password = "not-" + adminPW },
			starface.RefusedCredentials, "refused the user credentials of 0001"},
		{"unknown scope", starfacetest.Realm{}, func(o *starface.Options) { o.Scope = "openid" }, starface.RefusedScope, "refused the scope openid"},
		{"both known scopes refused", starfacetest.Realm{Scopes: []string{"x"}}, nil, starface.RefusedScope, "refused the scope login"},
		{"right missing", starfacetest.Realm{}, func(o *starface.Options) { o.Login, o.Password = "0003", alicePW },
			starface.RefusedRight, `give 0003 the right "API access with OAuth Password Grant"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pbx10(t, tt.realm, false)
			var logs syncBuffer
			c := newClient(t, s, func(o *starface.Options) {
				o.ClientSecret, o.Logger = clientSecret, debugLogger(&logs)
				if tt.mod != nil {
					tt.mod(o)
				}
			})
			_, err := c.Users(context.Background())
			var ae *starface.AuthError
			if !errors.As(err, &ae) || ae.Refused != tt.refused || !strings.Contains(err.Error(), tt.has) {
				t.Fatalf("err = %v (refused %q), want refused %q saying %q", err, refusedOf(ae), tt.refused, tt.has)
			}
			for _, secret := range []string{adminPW, alicePW, clientSecret, "not-" + adminPW} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("secret %q in the error or the log", secret)
				}
			}
			if s.CountRequests("GET", "/rest/") != 0 {
				t.Error("REST requested without a token")
			}
		})
	}
}

func refusedOf(ae *starface.AuthError) string {
	if ae == nil {
		return ""
	}
	return ae.Refused
}

// Across runs (one client per run, one cache directory): the second run reuses the access
// token, a run after expiry makes exactly one refresh grant, and no run probes discovery again.
// The cache file is 0600 and holds no password or secret.
func TestOAuthCacheAcrossRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := pbx10(t, starfacetest.Realm{}, false)
		hc := testtls.InMemory(t, s.Server)
		dir := t.TempDir()
		run := func() *starface.Client {
			t.Helper()
			c := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.HTTPClient, o.TokenCacheDir = clientSecret, hc, dir })
			if _, err := c.Users(context.Background()); err != nil {
				t.Fatal(err)
			}
			return c
		}
		run()
		s.ResetRequests()
		if c := run(); c.Method() != starface.MethodOAuth || s.CountRequests("", "/auth/") != 0 || s.CountRequests("", "/.well-known/") != 0 {
			t.Errorf("second run: method %q, %d realm requests, want the cached token", c.Method(), s.CountRequests("", "/auth/"))
		}
		for range 2 {
			time.Sleep(10 * time.Minute)
			s.ResetRequests()
			run()
			if s.CountGrants("refresh_token") != 1 || s.CountGrants("password") != 0 || s.CountRequests("", "/.well-known/") != 0 {
				t.Errorf("run after expiry: %d refresh, %d password grants, %d discovery requests; want 1, 0, 0",
					s.CountGrants("refresh_token"), s.CountGrants("password"), s.CountRequests("", "/.well-known/"))
			}
		}
		file := filepath.Join(dir, starface.CacheFileName)
		fi, err := os.Stat(file)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("cache file: %v, mode %v", err, fi.Mode().Perm())
		}
		data, _ := os.ReadFile(file)
		if strings.Contains(string(data), adminPW) || strings.Contains(string(data), clientSecret) || !strings.Contains(string(data), `"method": "oauth"`) {
			t.Errorf("cache file:\n%s", data)
		}
		// Past the refresh token's 6 h, a password grant (not a refused refresh first).
		time.Sleep(7 * time.Hour)
		s.ResetRequests()
		run()
		if s.CountGrants("refresh_token") != 0 || s.CountGrants("password") != 1 {
			t.Errorf("after 7 h: %d refresh, %d password grants; want 0 and 1", s.CountGrants("refresh_token"), s.CountGrants("password"))
		}
		// logout forgets the OAuth tokens: the next run signs in afresh.
		c := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.HTTPClient, o.TokenCacheDir = clientSecret, hc, dir })
		if err := c.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("cache file after logout: %v", err)
		}
		s.ResetRequests()
		run()
		if s.CountGrants("password") != 1 {
			t.Errorf("after logout: %d password grants, want 1", s.CountGrants("password"))
		}
	})
}

// auto remembers what it chose: a 9.x PBX is not probed for OAuth on every run; a classic
// choice made for want of a secret is probed again once a secret is configured; a PBX that
// lost its classic login is signed in with OAuth.
func TestAutoRemembersMethod(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := newServer(t)
	for range 2 {
		c := newClient(t, old, func(o *starface.Options) { o.ClientSecret, o.TokenCacheDir = clientSecret, dir })
		old.ExpireTokens() // force a new login each run
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := old.CountRequests("GET", "/.well-known/"); n != 1 {
		t.Errorf("a 9.x PBX probed %d times over two runs, want 1", n)
	}

	s := pbx10(t, starfacetest.Realm{}, true)
	dir = t.TempDir()
	noSecret := newClient(t, s, func(o *starface.Options) { o.TokenCacheDir = dir })
	if _, err := noSecret.Users(ctx); err != nil || noSecret.Method() != starface.MethodClassic {
		t.Fatalf("without a secret: %v, method %q", err, noSecret.Method())
	}
	s.ExpireTokens()
	withSecret := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.TokenCacheDir = clientSecret, dir })
	if _, err := withSecret.Users(ctx); err != nil || withSecret.Method() != starface.MethodOAuth {
		t.Fatalf("with a secret configured later: %v, method %q", err, withSecret.Method())
	}

	up := newServer(t) // a 9.x ...
	dir = t.TempDir()
	c := newClient(t, up, func(o *starface.Options) { o.ClientSecret, o.TokenCacheDir = clientSecret, dir })
	if _, err := c.Users(ctx); err != nil || c.Method() != starface.MethodClassic {
		t.Fatalf("9.x: %v, %q", err, c.Method())
	}
	up.EnableRealm(starfacetest.Realm{ClientSecret: clientSecret}) // ... upgraded to 10 without the classic login
	up.DisableClassicLogin()
	up.GrantRight(1, starface.RightOAuthPasswordGrant)
	up.ExpireTokens()
	c = newClient(t, up, func(o *starface.Options) { o.ClientSecret, o.TokenCacheDir = clientSecret, dir })
	if _, err := c.Users(ctx); err != nil || c.Method() != starface.MethodOAuth {
		t.Fatalf("after the upgrade: %v, %q", err, c.Method())
	}
}

// OneHub takes the same bearer token: AccessToken hands it out, InvalidateAccessToken makes
// the next call refresh.
func TestAccessTokenForOtherInterfaces(t *testing.T) {
	s := pbx10(t, starfacetest.Realm{}, false)
	c := newClient(t, s, func(o *starface.Options) { o.ClientSecret = clientSecret })
	ctx := context.Background()
	tok, err := c.AccessToken(ctx)
	if err != nil || tok == "" {
		t.Fatalf("AccessToken: %q, %v", tok, err)
	}
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if got := reqs[len(reqs)-1].Header.Get("Authorization"); got != "Bearer "+tok {
		t.Errorf("REST used %q, AccessToken gave another token", got)
	}
	c.InvalidateAccessToken("some-older-token") // not the current one: no effect
	if again, _ := c.AccessToken(ctx); again != tok || s.CountGrants("refresh_token") != 0 {
		t.Errorf("invalidating an old token renewed the current one")
	}
	c.InvalidateAccessToken(tok)
	next, err := c.AccessToken(ctx)
	if err != nil || next == tok || s.CountGrants("refresh_token") != 1 {
		t.Errorf("after InvalidateAccessToken: %v, same token %v, %d refreshes", err, next == tok, s.CountGrants("refresh_token"))
	}

	classic := newClient(t, newServer(t), nil)
	if _, err := classic.AccessToken(ctx); !errors.Is(err, starface.ErrNotOAuth) {
		t.Errorf("AccessToken on a classic login: %v, want ErrNotOAuth", err)
	}
}

// Many goroutines meeting an expired access token cause one refresh: the refresh is held at
// the realm until all of them are waiting for it.
func TestOneRefreshForConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := pbx10(t, starfacetest.Realm{}, false)
		hc := testtls.InMemory(t, s.Server)
		dir := t.TempDir()
		ctx := context.Background()
		first := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.HTTPClient, o.TokenCacheDir = clientSecret, hc, dir })
		if _, err := first.Users(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour) // the cached access token has expired, the refresh token has not
		gate := newGate(s, "POST", tokenPath)
		gate.base = hc.Transport
		c := newClient(t, s, func(o *starface.Options) {
			o.ClientSecret, o.TokenCacheDir, o.HTTPClient = clientSecret, dir, gate.client()
		})
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Go(func() { _, err := c.PhoneConfig(ctx, 17); errs <- err })
		}
		<-gate.arrived
		gate.release()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, p := s.CountGrants("refresh_token"), s.CountGrants("password"); n != 1 || p != 1 {
			t.Errorf("%d refresh and %d password grants for 10 concurrent callers, want 1 and 1", n, p)
		}
	})
}

// The debug log names every request and no token, password or secret.
func TestOAuthLogsNoSecrets(t *testing.T) {
	s := pbx10(t, starfacetest.Realm{RefuseBasic: true}, false)
	var logs syncBuffer
	c := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.Logger = clientSecret, debugLogger(&logs) })
	ctx := context.Background()
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	secrets := []string{adminPW, clientSecret, url.QueryEscape(adminPW)}
	for _, r := range s.Requests() {
		if a := r.Header.Get("Authorization"); a != "" {
			secrets = append(secrets, strings.Fields(a)[1])
		}
		var a struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if json.Unmarshal(r.Response, &a) == nil && a.Access != "" {
			secrets = append(secrets, a.Access, a.Refresh)
		}
	}
	out := logs.String()
	for _, sec := range secrets {
		if strings.Contains(out, sec) {
			t.Errorf("log contains a secret %q:\n%s", sec, out)
		}
	}
	// A redirect the HTTP client follows is one logged request (with redirected_to).
	if n, want := strings.Count(out, `msg="starface request"`), len(s.Requests())-s.CountRequests("GET", "/.well-known/"); n != want {
		t.Errorf("%d request log lines for %d requests:\n%s", n, want, out)
	}
	if !strings.Contains(out, "path=/.well-known/openid-configuration status=200") || !strings.Contains(out, "redirected_to=/auth/realms/pbx/.well-known/openid-configuration") {
		t.Errorf("the discovery line does not show the redirect:\n%s", out)
	}
}

// A cached token endpoint that answers 404 (the PBX was reconfigured) is discovered again once.
func TestCachedTokenEndpointRediscovered(t *testing.T) {
	s := pbx10(t, starfacetest.Realm{}, false)
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.TokenCacheDir = clientSecret, dir }).Users(ctx); err != nil {
		t.Fatal(err)
	}
	s.RevokeSessions()
	s.ResetRequests()
	s.AddFault(starfacetest.Fault{Method: "POST", Path: tokenPath, Status: 404, Times: 2}) // the refresh and the first grant
	c := newClient(t, s, func(o *starface.Options) { o.ClientSecret, o.TokenCacheDir = clientSecret, dir })
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	if d, p := s.CountRequests("GET", "/.well-known/"), s.CountGrants("password"); d != 1 || p != 2 {
		t.Errorf("%d discovery requests, %d password grants; want 1 and 2", d, p)
	}
}
