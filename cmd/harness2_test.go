package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
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

// shortDeviceInterval rewrites the "interval" of Entra's device authorization answer to one
// second, the least RFC 8628 allows in its whole-second field. graph waits that interval before
// every poll through a sleep hook cmd cannot reach, and the double answers Entra's 5 s.
type shortDeviceInterval struct{ next http.RoundTripper }

var intervalRE = regexp.MustCompile(`"interval":\s*\d+`)

func (s shortDeviceInterval) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/devicecode") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = intervalRE.ReplaceAll(body, []byte(`"interval":1`))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// deviceDeps are harness deps whose HTTP client shortens the device-code poll interval. stderr
// is a syncBuffer because the test reads the prompt while the login is still polling.
func (h *harness) deviceDeps(stdout io.Writer, stderr *syncBuffer) Deps {
	d := h.deps(&bytes.Buffer{}, &bytes.Buffer{})
	d.Stdout, d.Stderr = stdout, stderr
	base := h.gs.Client()
	d.HTTPClient = &http.Client{Transport: shortDeviceInterval{base.Transport}, Timeout: 10 * time.Second}
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
