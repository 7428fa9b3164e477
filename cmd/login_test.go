package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

const (
	testGroupID     = "aaaaaaaa-0000-4000-8000-000000000001"
	presencesByUser = "/v1.0/communications/getPresencesByUserId"
)

// checks decodes `login --check -o json` into rows keyed by "service/check".
func checks(t *testing.T, out string) map[string]checkRow {
	t.Helper()
	rows := decodeJSON[[]checkRow](t, out)
	m := make(map[string]checkRow, len(rows))
	for _, r := range rows {
		m[r.Service+"/"+r.Check] = r
	}
	return m
}

func wantCheck(t *testing.T, rows map[string]checkRow, key, status string) {
	t.Helper()
	r, ok := rows[key]
	if !ok {
		t.Errorf("no row %q in login --check; rows: %v", key, rows)
		return
	}
	if r.Status != status {
		t.Errorf("row %q: status %q (%s), want %q", key, r.Status, r.Detail, status)
	}
}

func TestLoginCheckAllPermissionsOK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    cfgOpts
		want    []string // rows that must be ok
		notWant []string // rows that must not appear
	}{
		{
			name: "presence only",
			want: []string{"microsoft/permission Presence.Read.All", "microsoft/permission User.Read.All",
				"microsoft/read presence (getPresencesByUserId)", "microsoft/list users"},
			notWant: []string{"microsoft/permission Presence.ReadWrite.All", "microsoft/permission GroupMember.Read.All"},
		},
		{
			name:    "starface to teams",
			opts:    cfgOpts{tail: "starface_to_teams: {enabled: true}\n"},
			want:    []string{"microsoft/permission Presence.ReadWrite.All", "microsoft/permission Presence.Read.All"},
			notWant: []string{"microsoft/permission GroupMember.Read.All"},
		},
		{
			name:    "entra group",
			opts:    cfgOpts{microsoft: "  group: " + testGroupID + "\n"},
			want:    []string{"microsoft/permission GroupMember.Read.All", "microsoft/group " + testGroupID},
			notWant: []string{"microsoft/permission Presence.ReadWrite.All"},
		},
		{
			name: "starface group",
			opts: cfgOpts{starface: "  group: sales\n"}, // the name is matched case-insensitively
			want: []string{"starface/group sales"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 3, "")
			h.gs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClientID, ClientSecret: testSecret,
				Roles: []string{"Presence.Read.All", "Presence.ReadWrite.All", "User.Read.All", "GroupMember.Read.All"}})
			h.gs.AddGroup(testGroupID, h.people[0].entraID)
			h.ss.AddGroup(10, "Sales", 2, 3)
			h.configure(tc.opts)

			out, errs := h.mustRun(ExitOK, "login", "--check", "-o", "json")
			rows := checks(t, out)
			for _, k := range append(tc.want, "microsoft/sign-in (client-secret)", "starface/login and read users",
				"starface/read groups", "starface/write phone configs") {
				wantCheck(t, rows, k, "ok")
			}
			for _, k := range tc.notWant {
				if _, ok := rows[k]; ok {
					t.Errorf("row %q shown although the configuration does not need it", k)
				}
			}
			for _, r := range rows {
				if r.Status != "ok" && r.Status != "note" {
					t.Errorf("row %s/%s is %s: %s", r.Service, r.Check, r.Status, r.Detail)
				}
			}
			// The probe is one getPresencesByUserId call, never one per user.
			if n := h.gs.CountRequests("POST", presencesByUser); n != 1 {
				t.Errorf("getPresencesByUserId requests = %d, want 1", n)
			}
			// The check reads; it writes nothing.
			if n := h.ss.CountRequests("PUT", "/rest/"); n != 0 {
				t.Errorf("login --check sent %d PUT requests to STARFACE", n)
			}
			if strings.Contains(errs, testSecret) || strings.Contains(out, testSecret) {
				t.Error("login --check printed the client secret")
			}
		})
	}
}

func TestLoginCheckTable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	out, _ := h.mustRun(ExitOK, "login", "--check")
	for _, want := range []string{"SERVICE", "CHECK", "STATUS", "permission Presence.Read.All", "permission User.Read.All", "write phone configs"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "permission ") && !strings.Contains(line, " ok ") {
			t.Errorf("permission line not ok: %q", line)
		}
	}
}

func TestLoginCheckMissingPermissionExits4(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.gs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClientID, ClientSecret: testSecret,
		Roles: []string{"User.Read.All"}})
	code, out, errs := h.run("login", "--check", "-o", "json")
	if code != ExitAuth {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitAuth, out, errs)
	}
	rows := checks(t, out)
	wantCheck(t, rows, "microsoft/permission Presence.Read.All", "missing")
	wantCheck(t, rows, "microsoft/permission User.Read.All", "ok")
	wantCheck(t, rows, "microsoft/read presence (getPresencesByUserId)", "failed")
	for _, want := range []string{"Presence.Read.All", "API permissions", "admin consent", "Application", testClientID} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "User.Read.All") {
		t.Errorf("stderr names a permission the app has:\n%s", errs)
	}
	if n := h.gs.CountRequests("POST", presencesByUser); n != 1 {
		t.Errorf("getPresencesByUserId requests = %d, want 1 (a 403 is not retried)", n)
	}
}

func TestLoginCheckUnknownStarfaceGroupListsGroups(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.ss.AddGroup(10, "Sales", 2)
	h.ss.AddGroup(11, "Support", 3)
	h.configure(cfgOpts{starface: "  group: Marketing\n"})
	code, out, errs := h.run("login", "--check", "-o", "json")
	if code != ExitUsage {
		t.Errorf("exit %d, want %d (a group that does not exist is a configuration error)", code, ExitUsage)
	}
	rows := checks(t, out)
	wantCheck(t, rows, "starface/group Marketing", "failed")
	for _, want := range []string{`"Marketing"`, "Sales", "Support"} {
		if !strings.Contains(errs, want) || !strings.Contains(rows["starface/group Marketing"].Detail, want) {
			t.Errorf("the error does not name %s:\nstderr: %s\nrow: %+v", want, errs, rows["starface/group Marketing"])
		}
	}
}

// A login without the administrator right is found by reading its rights: exit 4 and the fix,
// and not one write. --write-test proves it by trying, on another user's phone config.
func TestLoginCheckNonAdminStarfaceLoginExits4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		status string
		puts   int
	}{
		{[]string{"login", "--check", "-o", "json"}, "missing", 0},
		{[]string{"login", "--check", "--write-test", "-o", "json"}, "failed", 1},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			h := newHarness(t, 2, "")
			// The configured STARFACE login loses its administrator right.
			h.ss.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: testPassword, FirstName: "PBX", FamilyName: "Admin", Admin: false})
			code, out, errs := h.run(tc.args...)
			if code != ExitAuth {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitAuth, out, errs)
			}
			rows := checks(t, out)
			wantCheck(t, rows, "starface/login and read users", "ok")
			wantCheck(t, rows, "starface/write phone configs", tc.status)
			if !strings.Contains(errs, "administrator") {
				t.Errorf("stderr does not say an administrator login is needed:\n%s", errs)
			}
			if n := h.ss.CountRequests("PUT", "/rest/"); n != tc.puts {
				t.Errorf("PUT requests = %d, want %d", n, tc.puts)
			}
			for _, r := range h.ss.Requests() {
				if r.Method == "PUT" && r.Path == "/rest/users/1/phoneconfig" {
					t.Error("the write check wrote the login's own phone config, which any user may do")
				}
			}
		})
	}
}

// --check changes nothing on either service; --write-test writes one other user's phone config
// back as it read it and says whose.
func TestLoginCheckWritesOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.ss.SetDND(h.people[1].sfID, true)
	before := map[int]starface.PhoneConfig{}
	for _, p := range h.people {
		before[p.sfID] = h.ss.PhoneConfigOf(p.sfID)
	}
	out, _ := h.mustRun(ExitOK, "login", "--check", "-o", "json")
	wantCheck(t, checks(t, out), "starface/write phone configs", "ok")
	// Reads only: GETs, sign-ins, and the one presence read (a POST that changes nothing).
	for _, r := range h.ss.Requests() {
		if r.Method != "GET" && r.Path != "/rest/login" {
			t.Errorf("login --check sent STARFACE %s %s", r.Method, r.Path)
		}
	}
	for _, r := range h.gs.Requests() {
		if r.Method != "GET" && !strings.HasSuffix(r.Path, "/oauth2/v2.0/token") && r.Path != presencesByUser {
			t.Errorf("login --check sent Graph %s %s", r.Method, r.Path)
		}
	}
	h.resetLogs()
	out, _ = h.mustRun(ExitOK, "login", "--check", "--write-test", "-o", "json")
	rows := checks(t, out)
	wantCheck(t, rows, "starface/write phone configs", "ok")
	if d := rows["starface/write phone configs"].Detail; !strings.Contains(d, "0002") || !strings.Contains(d, "unchanged") {
		t.Errorf("the write test does not say whose phone config it wrote: %q", d)
	}
	if n := h.ss.CountRequests("PUT", "/rest/users/2/phoneconfig"); n != 1 || h.ss.CountRequests("PUT", "/rest/") != 1 {
		t.Errorf("the write test wrote %d times to 0002's phone config and %d times in all; want one", n, h.ss.CountRequests("PUT", "/rest/"))
	}
	for id, pc := range before {
		if got := h.ss.PhoneConfigOf(id); !reflect.DeepEqual(got, pc) {
			t.Errorf("user %d's phone config changed: %+v, was %+v", id, got, pc)
		}
	}
}

func TestLoginClientSecretCachesToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	_, errs := h.mustRun(ExitOK, "login")
	if !strings.Contains(errs, "Credentials work") {
		t.Errorf("stderr:\n%s", errs)
	}
	fi, err := os.Stat(filepath.Join(h.stateDir, "token-graph.json"))
	if err != nil {
		t.Fatalf("no token cache: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token-graph.json mode %04o, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(h.stateDir); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v, mode %04o, want 0700", err, di.Mode().Perm())
	}
	if n := h.gs.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
	// A run reuses the cached token; login itself asks Entra again, since only a new token proves
	// the credentials work now.
	h.resetLogs()
	h.advance(30 * time.Minute)
	h.mustRun(ExitOK, "users", "match")
	if n := h.gs.TokenRequests(); n != 0 {
		t.Errorf("a run asked Entra %d times, want 0 (cached)", n)
	}
	h.mustRun(ExitOK, "login")
	if n := h.gs.TokenRequests(); n != 1 {
		t.Errorf("the second login asked Entra %d times, want 1", n)
	}
	// The secret was rotated in Entra and the old one is in the file: login says so at once,
	// though a token from the old secret is still cached.
	h.gs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClientID, ClientSecret: "the-new-secret",
		Roles: []string{"Presence.Read.All", "Presence.ReadWrite.All", "User.Read.All"}})
	if code, _, errs := h.run("login"); code != ExitAuth {
		t.Errorf("login with a rotated-away secret: exit %d, want %d\n%s", code, ExitAuth, errs)
	}
}

func TestLoginWrongSecretExits4WithoutTheSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	const wrong = "wrong-secret-value-123"
	h.writeFile("client-secret", wrong)
	for _, args := range [][]string{{"login"}, {"login", "--check"}} {
		code, out, errs := h.run(append(args, "--log-level", "trace")...)
		if code != ExitAuth {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitAuth, errs)
		}
		for _, s := range []string{wrong, testSecret, testPassword} {
			if strings.Contains(out+errs, s) {
				t.Errorf("%v: output contains a secret:\n%s\n%s", args, out, errs)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "token-graph.json")); err == nil {
		t.Error("a refused sign-in left a token cache")
	}
}

func TestLogoutRemovesTokensAndEndsStarfaceSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	h.mustRun(ExitOK, "login", "--check")
	for _, f := range []string{"token-graph.json", "token-starface.json"} {
		if _, err := os.Stat(filepath.Join(h.stateDir, f)); err != nil {
			t.Fatalf("before logout: %v", err)
		}
	}
	h.resetLogs()
	_, errs := h.mustRun(ExitOK, "logout")
	for _, f := range []string{"token-graph.json", "token-starface.json"} {
		if _, err := os.Stat(filepath.Join(h.stateDir, f)); !os.IsNotExist(err) {
			t.Errorf("%s still there after logout (%v)", f, err)
		}
	}
	if n := h.ss.CountRequests("DELETE", "/rest/login"); n != 1 {
		t.Errorf("DELETE /rest/login requests = %d, want 1", n)
	}
	if n := h.ss.CountRequests("POST", "/rest/login"); n != 0 {
		t.Errorf("logout logged in to STARFACE %d times just to log out", n)
	}
	if !strings.Contains(errs, "Signed out") {
		t.Errorf("stderr:\n%s", errs)
	}
	// The next run signs in afresh on both sides.
	h.resetLogs()
	h.mustRun(ExitOK, "presence", "get")
	if h.gs.TokenRequests() != 1 || h.ss.CountRequests("POST", "/rest/login") != 1 {
		t.Errorf("after logout: %d token requests, %d STARFACE logins; want 1 and 1",
			h.gs.TokenRequests(), h.ss.CountRequests("POST", "/rest/login"))
	}
}

// deviceApp is a public-client registration whose user consented to the delegated permissions.
func deviceApp() graphtest.App {
	return graphtest.App{Tenant: testTenant, ClientID: testClientID, PublicClient: true,
		Scopes: []string{"Presence.Read.All", "User.Read.All"}}
}

// deviceLogin runs `teamsface login` for device code in the background and plays the user with
// decide (ApproveDevice or DeclineDevice) once the code is shown. The polls wait on the test,
// not on Entra's interval (see devicePoller).
func deviceLogin(t *testing.T, h *harness, decide func(string) error) (code int, stderr string) {
	t.Helper()
	var errb syncBuffer
	poller := newDevicePoller()
	deps := h.deviceDeps(&bytes.Buffer{}, &errb, poller)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- h.runWith(ctx, deps, "login") }()
	var userCode string
	waitFor(t, "a pending device code", func() bool {
		if c := h.gs.PendingDeviceCodes(); len(c) == 1 {
			userCode = c[0]
			return true
		}
		return false
	})
	waitFor(t, "the prompt on stderr", func() bool { return strings.Contains(errb.String(), userCode) })
	if err := decide(userCode); err != nil {
		t.Fatal(err)
	}
	close(poller.decided)
	code = <-done
	stderr = errb.String()
	if !strings.Contains(stderr, "https://microsoft.com/devicelogin") {
		t.Errorf("the prompt lacks the verification URL:\n%s", stderr)
	}
	// Every poll waited the interval Entra asked for (5 s), none less.
	waits := poller.Waits()
	if len(waits) == 0 {
		t.Error("the login never waited before polling")
	}
	for i, w := range waits {
		if w != 5*time.Second {
			t.Errorf("wait %d before a poll = %v, want Entra's interval 5s", i+1, w)
		}
	}
	return code, stderr
}

func TestLoginDeviceCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.gs.RegisterApp(deviceApp())
	h.configure(cfgOpts{auth: "device-code"})
	h.setPresence(0, "Busy", "InACall")

	code, errs := deviceLogin(t, h, h.gs.ApproveDevice)
	if code != ExitOK {
		t.Fatalf("login exit %d:\n%s", code, errs)
	}
	path := filepath.Join(h.stateDir, "token-graph.json")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token cache after device login: %v %v", err, fi)
	}
	first, _ := os.ReadFile(path)
	cached := decodeJSON[map[string]any](t, string(first))
	rt, _ := cached["refresh_token"].(string)
	if rt == "" {
		t.Fatal("no refresh token stored")
	}
	if strings.Contains(errs, rt) {
		t.Error("the refresh token was printed")
	}

	// The access token ran out: a later run renews it silently from the refresh token.
	h.advance(2 * time.Hour)
	h.resetLogs()
	out, errs := h.mustRun(ExitOK, "presence", "get", "-o", "json")
	rows := decodeJSON[[]presenceRow](t, out)
	if len(rows) != 2 || rows[0].Availability != "Busy" || rows[0].Activity != "InACall" {
		t.Errorf("presence get after refresh = %+v", rows)
	}
	if n := h.gs.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1 refresh", n)
	}
	second, _ := os.ReadFile(path)
	rotated, _ := decodeJSON[map[string]any](t, string(second))["refresh_token"].(string)
	if rotated == "" || rotated == rt {
		t.Error("the rotated refresh token was not saved")
	}
	if strings.Contains(errs, rotated) {
		t.Error("the refresh token was printed")
	}

	// Sessions revoked and the access token expired: only a new sign-in helps.
	h.gs.RevokeRefreshTokens()
	h.advance(2 * time.Hour)
	_, errs = h.mustRun(ExitAuth, "presence", "get")
	if !strings.Contains(errs, "run `teamsface login`") {
		t.Errorf("stderr does not say how to recover:\n%s", errs)
	}
	if strings.Contains(errs, rotated) {
		t.Error("the refresh token was printed")
	}
}

func TestLoginDeviceCodeDeclinedExits4(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	h.gs.RegisterApp(deviceApp())
	h.configure(cfgOpts{auth: "device-code"})
	code, errs := deviceLogin(t, h, h.gs.DeclineDevice)
	if code != ExitAuth {
		t.Errorf("exit %d, want %d", code, ExitAuth)
	}
	if !strings.Contains(errs, "declined") {
		t.Errorf("stderr does not say the sign-in was declined:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "token-graph.json")); err == nil {
		if b, _ := os.ReadFile(filepath.Join(h.stateDir, "token-graph.json")); strings.Contains(string(b), "refresh_token") {
			t.Error("a declined sign-in stored a refresh token")
		}
	}
}

func TestDeviceCodeWithoutLoginExits4(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	h.gs.RegisterApp(deviceApp())
	h.configure(cfgOpts{auth: "device-code"})
	for _, args := range [][]string{{"presence", "get"}, {"users", "match"}, {"sync", "once"}} {
		code, _, errs := h.run(args...)
		if code != ExitAuth || !strings.Contains(errs, "run `teamsface login`") {
			t.Errorf("%v before any sign-in: exit %d, want %d with the hint\n%s", args, code, ExitAuth, errs)
		}
	}
	if n := h.gs.CountRequests("POST", "/"+testTenant+"/oauth2/v2.0/devicecode"); n != 0 {
		t.Errorf("a non-interactive command started a device-code sign-in (%d requests)", n)
	}
}

func TestBadConfigurationExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  cfgOpts
		setup func(h *harness)
		want  []string
		// late: found only when login --check reaches STARFACE, after printing the Microsoft rows
		late bool
	}{
		{name: "unknown key", opts: cfgOpts{tail: "sink_interval: 10s\n"}, want: []string{"sink_interval"}},
		{name: "unknown key in a section", opts: cfgOpts{starface: "  pasword_file: /x\n"}, want: []string{"pasword_file"}},
		{name: "germany", opts: cfgOpts{microsoft: "  cloud: germany\n"}, want: []string{"retired"}},
		{name: "unknown cloud", opts: cfgOpts{microsoft: "  cloud: mars\n"}, want: []string{"mars", "global", "china"}},
		{name: "http authority", opts: cfgOpts{authorityHost: "http://login.example.com"}, want: []string{"authority_host", "https"}},
		{name: "missing secret variable",
			opts: cfgOpts{noSecretFile: true, microsoft: "  client_secret_env: TEAMSFACE_TEST_UNSET_SECRET_VAR\n"},
			want: []string{"TEAMSFACE_TEST_UNSET_SECRET_VAR"}},
		{name: "missing secret file",
			opts: cfgOpts{passwordFile: "/nonexistent/teamsface/starface-password"},
			want: []string{"/nonexistent/teamsface/starface-password"}, late: true},
		{name: "secret file readable by others",
			setup: func(h *harness) {
				if err := os.Chmod(filepath.Join(h.dir, "client-secret"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"chmod 600", "client-secret"}},
	}
	if _, ok := os.LookupEnv("TEAMSFACE_TEST_UNSET_SECRET_VAR"); ok {
		t.Fatal("TEAMSFACE_TEST_UNSET_SECRET_VAR is set in the environment")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, 1, "")
			h.configure(tc.opts)
			if tc.setup != nil {
				tc.setup(h)
			}
			for _, args := range [][]string{{"login", "--check"}, {"users", "match"}, {"presence", "get"}} {
				code, out, errs := h.run(args...)
				if code != ExitUsage {
					t.Errorf("%v: exit %d, want %d\n%s", args, code, ExitUsage, errs)
				}
				for _, w := range tc.want {
					if !strings.Contains(errs, w) {
						t.Errorf("%v: stderr lacks %q:\n%s", args, w, errs)
					}
				}
				if out != "" && !(tc.late && args[0] == "login") {
					t.Errorf("%v: printed results despite the bad configuration:\n%s", args, out)
				}
			}
			if n := len(h.gs.Requests()) + len(h.ss.Requests()); n != 0 && !tc.late {
				t.Errorf("%d requests sent with a bad configuration", n)
			}
		})
	}
}
