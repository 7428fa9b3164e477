package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/clock"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

const (
	testTenant   = "contoso.example"
	testClientID = "11111111-2222-3333-4444-555555555555"
	testSecret   = "s3cr3t-client-secret-value"
	testPassword = "pbx-admin-password-value"
)

// harness runs teamsface's real command line against both test doubles, with one clock for all.
type harness struct {
	t        testing.TB
	gs       *graphtest.Server
	ss       *starfacetest.Server
	dir      string
	cfgPath  string
	stateDir string

	clk *clock.Manual
	hc  *http.Client
	// oneHubTLS trusts the OneHub double, when a test starts one.
	oneHubTLS *tls.Config

	people []person
}

type person struct {
	login   string
	sfID    int
	entraID string
	email   string
}

// newHarness starts both doubles with n people who match by mail; extra YAML is appended to the
// configuration (it may add starface_to_teams etc.).
func newHarness(t testing.TB, n int, extra string) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clk: clock.NewManual(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))}
	h.gs = graphtest.NewServer()
	t.Cleanup(h.gs.Close)
	h.ss = starfacetest.NewServer()
	t.Cleanup(h.ss.Close)
	h.gs.SetClock(h.clock)
	h.ss.SetClock(h.clock)
	h.gs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClientID, ClientSecret: testSecret,
		Roles: []string{"Presence.Read.All", "Presence.ReadWrite.All", "User.Read.All"}})
	h.ss.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: testPassword, FirstName: "PBX", FamilyName: "Admin", Admin: true})
	for i := 0; i < n; i++ {
		p := person{login: fmt.Sprintf("%04d", i+2), sfID: i + 2,
			entraID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+2),
			email:   fmt.Sprintf("user%d@contoso.example", i+2)}
		h.ss.AddUser(starfacetest.User{ID: p.sfID, Login: p.login, Password: "x", FirstName: "User", FamilyName: p.login,
			Email: p.email, Phone: starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 7, PrimaryPhoneID: 9}})
		h.gs.AddUser(graphtest.User{ID: p.entraID, DisplayName: "User " + p.login, Mail: p.email, UserPrincipalName: p.email,
			AccountEnabled: true, Availability: "Available", Activity: "Available"})
		h.people = append(h.people, p)
	}
	h.stateDir = filepath.Join(h.dir, "state")
	h.writeFile("client-secret", testSecret)
	h.writeFile("starface-password", testPassword)
	h.cfgPath = h.writeConfig(extra)
	return h
}

func (h *harness) writeFile(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) writeConfig(extra string) string {
	return h.writeFile("mapping.yaml", h.writeConfigText(extra))
}

// writeConfigText is the harness's configuration with extra YAML appended.
func (h *harness) writeConfigText(extra string) string {
	return fmt.Sprintf(`microsoft:
  tenant: %s
  client_id: %s
  client_secret_file: %s
  authority_host: %s
  graph_endpoint: %s
starface:
  url: %s
  login: "0001"
  password_file: %s
users:
  exclude: ["0001"]
%s`, testTenant, testClientID, filepath.Join(h.dir, "client-secret"), h.gs.URL, h.gs.URL,
		h.ss.URL, filepath.Join(h.dir, "starface-password"), extra)
}

// httpClient trusts both doubles and keeps as many idle connections as the clients have
// requests in flight, the way the real clients' transports do: httptest's own client keeps two,
// so every pass would pay new TLS handshakes.
func (h *harness) httpClient() *http.Client {
	if h.hc == nil {
		tr := h.gs.Client().Transport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		h.hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	return h.hc
}

func (h *harness) clock() time.Time        { return h.clk.Now() }
func (h *harness) advance(d time.Duration) { h.clk.Advance(d) }

func (h *harness) deps(stdout, stderr *bytes.Buffer) Deps {
	return Deps{Stdout: stdout, Stderr: stderr, Stdin: strings.NewReader(""),
		Getenv:     func(string) string { return "" },
		Now:        h.clock,
		HTTPClient: h.httpClient(), // both doubles present httptest's certificate
		OneHubTLS:  h.oneHubTLS,
	}
}

// run runs one teamsface process's worth of work: a fresh command line, fresh clients, the shared
// state directory.
func (h *harness) run(args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--config", h.cfgPath, "--state-dir", h.stateDir}, args...)
	code = Run(context.Background(), h.deps(&out, &errb), full)
	return code, out.String(), errb.String()
}

// mustRun fails the test unless the exit code is want.
func (h *harness) mustRun(want int, args ...string) (stdout, stderr string) {
	h.t.Helper()
	code, out, errs := h.run(args...)
	if code != want {
		h.t.Fatalf("teamsface %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errs)
	}
	return out, errs
}

func (h *harness) setPresence(i int, availability, activity string) {
	h.gs.SetUserPresence(h.people[i].entraID, availability, activity)
}

func (h *harness) dnd(i int) bool { return h.ss.PhoneConfigOf(h.people[i].sfID).DoNotDisturb }

// phoneRequests counts phone-config requests of a method (GET or PUT) since the last reset.
func (h *harness) phoneRequests(method string) int {
	n := 0
	for _, r := range h.ss.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, "/phoneconfig") {
			n++
		}
	}
	return n
}

// puts lists the user ids whose phone config was written since the last reset.
func (h *harness) puts() map[int]bool {
	out := map[int]bool{}
	for _, r := range h.ss.Requests() {
		if r.Method == "PUT" && strings.HasSuffix(r.Path, "/phoneconfig") {
			var id int
			fmt.Sscanf(r.Path, "/rest/users/%d/phoneconfig", &id)
			out[id] = true
		}
	}
	return out
}

func (h *harness) resetLogs() {
	h.ss.ResetRequests()
	h.gs.ResetRequests()
}
