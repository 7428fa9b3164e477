package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demo --serve announces the users a run against it finds in scope: --users of them, the
// PBX administrator it signs in as excluded (it said 13 for 12).
func TestDemoServeAnnouncesTheUsersInScope(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var errb syncBuffer
	g := &globals{deps: Deps{Stdout: &errb, Stderr: &errb, Getenv: func(string) string { return "" }, Now: time.Now}}
	stop, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDemoServe(stop, g, demoOptions{users: 12, serve: dir, starface: 9}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo --serve: %v", err)
		}
	}()
	waitFor(t, "demo --serve to start", func() bool { return strings.Contains(errb.String(), "In another shell") })
	m := regexp.MustCompile(`with (\d+) STARFACE users in scope \(and the PBX administrator 0001, excluded\)`).FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("the banner does not say how many users are in scope:\n%s", errb.String())
	}
	announced, _ := strconv.Atoi(m[1])

	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	var out, stderr syncBuffer
	deps := Deps{Stdout: &out, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	code := Run(context.Background(), deps, []string{"-c", filepath.Join(dir, "mapping.yaml"), "--state-dir", filepath.Join(dir, "state"), "users", "match", "-o", "json"})
	if code != ExitOK {
		t.Fatalf("users match against demo --serve: exit %d\n%s", code, stderr.String())
	}
	var rows []struct{ Status string }
	if err := json.Unmarshal([]byte(out.String()), &rows); err != nil {
		t.Fatal(err)
	}
	inScope := 0
	for _, r := range rows {
		if r.Status != "excluded" {
			inScope++
		}
	}
	if announced != 12 || inScope != announced {
		t.Errorf("announced %d users for --users 12; users match finds %d in scope", announced, inScope)
	}
}
