package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// End-to-end tests of the STARFACE 10 sign-in (issue 12) through the real command line,
// against the harness's doubles with the STARFACE double's OAuth realm switched on.

const (
	testSFClientSecret = "sf-realm-client-secret-value"
	sfTokenPath        = "/auth/realms/pbx/oauth2/token"
)

// sf10 describes the simulated PBX and the configuration of a STARFACE 10 test.
type sf10 struct {
	realm     bool // the OAuth realm is on (STARFACE 10)
	classic   bool // the classic login is on
	right     bool // 0001 has the right "API access with OAuth Password Grant"
	secret    bool // starface.client_secret_file is configured
	extraConf string
}

// newHarness10 is the harness with n people, a STARFACE as described, and users.refresh 0 so
// that every run reads the STARFACE user list (and so needs a token).
func newHarness10(t *testing.T, n int, o sf10) *harness {
	t.Helper()
	h := newHarness(t, n, "")
	if o.realm {
		h.ss.EnableRealm(starfacetest.Realm{ClientSecret: testSFClientSecret})
	}
	if !o.classic {
		h.ss.DisableClassicLogin()
	}
	if o.right {
		h.ss.GrantRight(1, starface.RightOAuthPasswordGrant)
	}
	sf := o.extraConf
	if o.secret {
		sf += "  client_secret_file: " + h.writeFile("starface-client-secret", testSFClientSecret) + "\n"
	}
	h.configure(cfgOpts{starface: sf, users: "  refresh: 0s\n"})
	return h
}

// issuedRefreshTokens lists the refresh tokens the realm handed out, in order.
func issuedRefreshTokens(s *starfacetest.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Path == sfTokenPath && r.Status == 200 {
			var a struct {
				RefreshToken string `json:"refresh_token"`
			}
			_ = json.Unmarshal(r.Response, &a)
			out = append(out, a.RefreshToken)
		}
	}
	return out
}

// refreshTokensUsed lists the refresh tokens the client presented, in order.
func refreshTokensUsed(s *starfacetest.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Path == sfTokenPath {
			if f, err := url.ParseQuery(string(r.Body)); err == nil && f.Get("grant_type") == "refresh_token" {
				out = append(out, f.Get("refresh_token"))
			}
		}
	}
	return out
}

// A STARFACE 10 without the classic login, auth: auto, a client secret: sync once works; the
// next run reuses the cached access token; after expiry one refresh grant each time, with the
// newest (rotated) refresh token; a revoked session costs one fresh password grant and the run
// still succeeds.
func TestStarface10SyncOnce(t *testing.T) {
	t.Parallel()
	h := newHarness10(t, 2, sf10{realm: true, right: true, secret: true})
	h.setPresence(0, "Busy", "InACall")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) {
		t.Fatal("DND not switched on")
	}
	if p, rl := h.ss.CountGrants("password"), h.ss.CountRequests("", "/rest/login"); p != 1 || rl != 0 {
		t.Errorf("first run: %d password grants, %d classic login requests; want 1 and 0", p, rl)
	}
	for _, r := range h.ss.Requests() {
		if strings.HasPrefix(r.Path, "/rest/") && (!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("X-Version") != "2") {
			t.Errorf("%s %s without Bearer and X-Version", r.Method, r.Path)
		}
	}

	// Second run, same minute: the cached access token, no realm request at all.
	h.resetLogs()
	h.setPresence(0, "Available", "Available")
	h.mustRun(ExitOK, "sync", "once")
	if h.dnd(0) {
		t.Error("DND not released")
	}
	if n := h.ss.CountRequests("", "/auth/") + h.ss.CountRequests("", "/.well-known/"); n != 0 {
		t.Errorf("second run made %d realm requests, want 0 (cached access token)", n)
	}
	if h.ss.CountRequests("GET", "/rest/users") == 0 {
		t.Fatal("the second run did not talk to STARFACE; the test proves nothing")
	}

	// Past the access token's 300 s: exactly one refresh grant per run, each with the refresh
	// token the previous grant issued.
	h.resetLogs()
	var issued []string
	for run := 1; run <= 2; run++ {
		h.advance(6 * time.Minute)
		before := issuedRefreshTokens(h.ss)
		h.mustRun(ExitOK, "sync", "once")
		used := refreshTokensUsed(h.ss)
		if len(used) != run || h.ss.CountGrants("password") != 0 {
			t.Fatalf("run %d after expiry: refresh grants %d, password grants %d; want %d and 0", run, len(used), h.ss.CountGrants("password"), run)
		}
		if run == 2 && used[1] != issued[0] {
			t.Errorf("the second refresh used %q..., not the rotated token the first refresh issued", used[1][:8])
		}
		if after := issuedRefreshTokens(h.ss); len(after) == len(before)+1 {
			issued = append(issued, after[len(after)-1])
		}
	}

	// The realm revokes the session: one refused refresh, one password grant, and the run
	// still succeeds.
	h.ss.RevokeSessions()
	h.resetLogs()
	h.setPresence(1, "DoNotDisturb", "Presenting")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(1) {
		t.Error("DND not switched on after the revoked session")
	}
	if p, r := h.ss.CountGrants("password"), h.ss.CountGrants("refresh_token"); p != 1 || r != 1 {
		t.Errorf("after a revoked session: %d password, %d refresh grants; want 1 and 1", p, r)
	}
}

// Trace output shows the sign-in and no token, password or secret.
func TestStarface10TraceHasNoSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness10(t, 1, sf10{realm: true, right: true, secret: true})
	h.setPresence(0, "Busy", "InACall")
	h.mustRun(ExitOK, "sync", "once")
	h.advance(6 * time.Minute) // a refresh in the traced run
	h.ss.ExpireTokens()
	_, errs := h.mustRun(ExitOK, "--log-level", "trace", "sync", "once")
	if !strings.Contains(errs, sfTokenPath) {
		t.Fatalf("the trace does not show the token request; the test proves nothing:\n%s", errs)
	}
	secrets := []string{testSFClientSecret, testPassword, testSecret, url.QueryEscape(testSFClientSecret)}
	for _, r := range h.ss.Requests() {
		if a := r.Header.Get("Authorization"); a != "" {
			secrets = append(secrets, strings.Fields(a)[len(strings.Fields(a))-1])
		}
		var a struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if json.Unmarshal(r.Response, &a) == nil && a.Access != "" {
			secrets = append(secrets, a.Access, a.Refresh)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(errs, s) {
			t.Errorf("trace output contains a secret (%d chars):\n%s", len(s), errs)
		}
	}
}

// A 9.x PBX (no realm): auto uses the classic login even with a client secret configured.
func TestStarface9AutoUsesClassic(t *testing.T) {
	t.Parallel()
	h := newHarness10(t, 1, sf10{classic: true, secret: true})
	h.setPresence(0, "Busy", "InACall")
	h.mustRun(ExitOK, "sync", "once")
	if !h.dnd(0) || h.ss.CountRequests("POST", "/rest/login") != 1 || h.ss.CountRequests("POST", sfTokenPath) != 0 {
		t.Errorf("DND %v, classic logins %d, token requests %d", h.dnd(0), h.ss.CountRequests("POST", "/rest/login"), h.ss.CountRequests("POST", sfTokenPath))
	}
	// The choice is remembered: the next run that needs a new token does not probe again.
	h.ss.ExpireTokens()
	h.resetLogs()
	h.mustRun(ExitOK, "sync", "once")
	if n := h.ss.CountRequests("GET", "/.well-known/"); n != 0 || h.ss.CountRequests("POST", "/rest/login") != 1 {
		t.Errorf("second run probed discovery %d times, logged in %d times; want 0 and 1", n, h.ss.CountRequests("POST", "/rest/login"))
	}
}

// Refused or impossible sign-ins exit 4 and say what fixes them, without a secret.
func TestStarface10SignInRefusedExits4(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    sf10
		want []string
	}{
		{"no secret on an OAuth-only PBX", sf10{realm: true, right: true},
			[]string{"no classic login", "no OAuth client secret is configured", "Server → Status → REST-API", `"API access with OAuth Password Grant"`}},
		{"user without the right", sf10{realm: true, secret: true},
			[]string{"0001 may not sign in with the password grant", `give 0001 the right "API access with OAuth Password Grant"`}},
		{"oauth on a 9.x", sf10{classic: true, secret: true, extraConf: "  auth: oauth\n"},
			[]string{"has no OAuth realm", "set starface.auth to classic or auto"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness10(t, 1, tt.o)
			for _, args := range [][]string{{"sync", "once"}, {"login", "--check"}} {
				code, out, errs := h.run(args...)
				if code != ExitAuth {
					t.Fatalf("%v: exit %d, want %d\n%s", args, code, ExitAuth, errs)
				}
				for _, w := range tt.want {
					if !strings.Contains(errs, w) {
						t.Errorf("%v: stderr lacks %q:\n%s", args, w, errs)
					}
				}
				if strings.Contains(out+errs, testSFClientSecret) || strings.Contains(out+errs, testPassword) {
					t.Errorf("%v: output contains a secret", args)
				}
			}
		})
	}
}

// login --check shows the method, the token's lifetime and the rights; logout forgets the
// OAuth tokens.
func TestStarface10LoginCheckAndLogout(t *testing.T) {
	t.Parallel()
	h := newHarness10(t, 1, sf10{realm: true, right: true, secret: true})
	out, _ := h.mustRun(ExitOK, "login", "--check", "-o", "json")
	rows := map[string]checkRow{}
	for _, r := range decodeJSON[[]checkRow](t, out) {
		rows[r.Service+"/"+r.Check] = r
	}
	signIn, ok := rows["starface/sign-in (oauth)"]
	if !ok || signIn.Status != "ok" || !strings.Contains(signIn.Detail, "token lifetime 5m0s") || !strings.Contains(signIn.Detail, "refresh token 6h0m0s") {
		t.Errorf("sign-in row %+v (rows %v)", signIn, rows)
	}
	if r := rows["starface/rights of 0001"]; r.Status != "ok" || !strings.Contains(r.Detail, starface.RightOAuthPasswordGrant) || !strings.Contains(r.Detail, "Administrator") {
		t.Errorf("rights row %+v", r)
	}
	cache := filepath.Join(h.stateDir, "token-starface.json")
	if data, err := os.ReadFile(cache); err != nil || !strings.Contains(string(data), `"method": "oauth"`) {
		t.Fatalf("token cache after login --check: %v\n%s", err, data)
	}
	h.mustRun(ExitOK, "logout")
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("token-starface.json after logout: %v", err)
	}
	h.resetLogs()
	h.mustRun(ExitOK, "sync", "once")
	if n := h.ss.CountGrants("password"); n != 1 {
		t.Errorf("after logout: %d password grants, want 1", n)
	}
}

// The demo runs against a simulated STARFACE 10 and says so.
func TestDemoAgainstStarface10(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	g := &globals{deps: Deps{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now},
		output: "json", logLevel: "warn", logFormat: "text"}
	g.after = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		c <- time.Now()
		return c
	}
	if err := runDemo(context.Background(), context.Background(), g, demoOptions{users: 10, duration: 3 * time.Second, seed: 1, starface: 10}); err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "Simulated STARFACE 10") {
		t.Errorf("the banner does not say STARFACE 10:\n%s", errb.String())
	}
	var sum struct {
		Version int    `json:"starface_version"`
		SignIn  string `json:"starface_sign_in"`
		SignIns int    `json:"starface_sign_ins"`
	}
	dec := json.NewDecoder(&out)
	for dec.More() {
		if err := dec.Decode(&sum); err != nil {
			t.Fatal(err)
		}
	}
	if sum.Version != 10 || sum.SignIn != starface.MethodOAuth || sum.SignIns != 1 {
		t.Errorf("demo summary %+v", sum)
	}
}
