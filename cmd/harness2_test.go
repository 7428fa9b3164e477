package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// cfgOpts describes a configuration for harness.configure: the harness's defaults plus extra
// lines for each section. Extra lines are written as given, so they carry their own two-space
// indent ("  group: Sales\n").
type cfgOpts struct {
	auth          string   // "" = client-secret with the harness's secret file
	authorityHost string   // "" = the Graph double
	noSecretFile  bool     // leave client_secret_file out (e.g. to name a variable instead)
	starfaceLogin string   // "" = 0001
	passwordFile  string   // "" = the harness's password file
	exclude       []string // nil = ["0001"]
	microsoft     string   // extra lines in microsoft:
	starface      string   // extra lines in starface:
	users         string   // extra lines in users:
	tail          string   // extra top-level YAML
}

// configure rewrites mapping.yaml. newHarness's extra YAML can only add top-level sections;
// tests of overrides, groups and auth modes need keys inside microsoft, starface and users.
func (h *harness) configure(o cfgOpts) {
	h.t.Helper()
	if o.auth == "" {
		o.auth = "client-secret"
	}
	if o.authorityHost == "" {
		o.authorityHost = h.gs.URL
	}
	if o.starfaceLogin == "" {
		o.starfaceLogin = "0001"
	}
	if o.passwordFile == "" {
		o.passwordFile = filepath.Join(h.dir, "starface-password")
	}
	if o.exclude == nil {
		o.exclude = []string{"0001"}
	}
	secret := ""
	if o.auth == "client-secret" && !o.noSecretFile {
		secret = fmt.Sprintf("  client_secret_file: %s\n", filepath.Join(h.dir, "client-secret"))
	}
	quoted := make([]string, len(o.exclude))
	for i, l := range o.exclude {
		quoted[i] = fmt.Sprintf("%q", l)
	}
	h.cfgPath = h.writeFile("mapping.yaml", fmt.Sprintf(`microsoft:
  tenant: %s
  client_id: %s
  auth: %s
%s  authority_host: %s
  graph_endpoint: %s
%sstarface:
  url: %s
  login: %q
  password_file: %s
%susers:
  exclude: [%s]
%s%s`, testTenant, testClientID, o.auth, secret, o.authorityHost, h.gs.URL, o.microsoft,
		h.ss.URL, o.starfaceLogin, o.passwordFile, o.starface,
		strings.Join(quoted, ", "), o.users, o.tail))
}

// runWith is harness.run with other dependencies (another HTTP client, a context to cancel).
func (h *harness) runWith(ctx context.Context, deps Deps, args ...string) int {
	full := append([]string{"--config", h.cfgPath, "--state-dir", h.stateDir}, args...)
	return Run(ctx, deps, full)
}

// decodeJSON decodes a command's -o json output, failing the test when it is not JSON.
func decodeJSON[T any](t testing.TB, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, out)
	}
	return v
}

// devicePoller stands in for graph's wait between device-code polls. The first poll goes out at
// once (Entra answers authorization_pending unless the user was quick); every later one waits
// until the test has played the user. No test waits Entra's poll interval, and none spins.
type devicePoller struct {
	mu      sync.Mutex
	waits   []time.Duration
	decided chan struct{} // closed once the user approved or declined
}

func newDevicePoller() *devicePoller { return &devicePoller{decided: make(chan struct{})} }

func (p *devicePoller) sleep(ctx context.Context, d time.Duration) error {
	p.mu.Lock()
	p.waits = append(p.waits, d)
	first := len(p.waits) == 1
	p.mu.Unlock()
	if first {
		return ctx.Err()
	}
	select {
	case <-p.decided:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waits returns the intervals graph asked to wait, in order.
func (p *devicePoller) Waits() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.waits)
}

// deviceDeps are harness deps whose device-code polls wait on poller instead of the clock.
// stderr is a syncBuffer because the test reads the prompt while the login is still polling.
func (h *harness) deviceDeps(stdout io.Writer, stderr *syncBuffer, poller *devicePoller) Deps {
	d := h.deps(&bytes.Buffer{}, &bytes.Buffer{})
	d.Stdout, d.Stderr = stdout, stderr
	d.Sleep = poller.sleep
	return d
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at a time.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond every few milliseconds until it holds or 5 s have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
