package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/internal/testtls"
)

const (
	testTenant = "contoso.onmicrosoft.com"
	testClient = "11111111-2222-3333-4444-555555555555"
	testSecret = "s3cr3t~Value.With-Chars_0123456789"
)

func newEntra(t *testing.T) *graphtest.Server {
	t.Helper()
	s := graphtest.NewServer()
	t.Cleanup(s.Close)
	return s
}

// testConfig points a config at the double; mode-specific credentials are filled in by the caller.
func testConfig(t *testing.T, s *graphtest.Server, mode string) AuthConfig {
	t.Helper()
	return AuthConfig{
		Cloud:      Cloud{Name: "test", AuthorityHost: s.Origin(), GraphEndpoint: s.Origin()},
		Tenant:     testTenant,
		ClientID:   testClient,
		Mode:       mode,
		CacheDir:   filepath.Join(t.TempDir(), "state"),
		HTTPClient: s.Client(),
		retryDelay: time.Millisecond,
	}
}

func secretSetup(t *testing.T) (*graphtest.Server, AuthConfig) {
	t.Helper()
	s := newEntra(t)
	s.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClient, ClientSecret: testSecret,
		Roles: []string{"Presence.Read.All", "User.Read.All"}})
	cfg := testConfig(t, s, ModeClientSecret)
	cfg.ClientSecret = testSecret
	return s, cfg
}

func mustToken(t *testing.T, ts *CachedTokenSource) string {
	t.Helper()
	tok, err := ts.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

func mustSource(t *testing.T, cfg AuthConfig) *CachedTokenSource {
	t.Helper()
	ts, err := NewTokenSource(cfg)
	if err != nil {
		t.Fatalf("NewTokenSource: %v", err)
	}
	return ts
}

func readCache(t *testing.T, dir string) tokenFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, tokenCacheFile))
	if err != nil {
		t.Fatalf("read cache: %v", err)
	}
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("cache is not JSON: %v", err)
	}
	return f
}

func TestClientSecretSignInIsCachedAcrossRuns(t *testing.T) {
	s, cfg := secretSetup(t)

	tok := mustToken(t, mustSource(t, cfg))
	perms, delegated, err := TokenPermissions(tok)
	if err != nil || delegated || strings.Join(perms, ",") != "Presence.Read.All,User.Read.All" {
		t.Fatalf("TokenPermissions = %v, %v, %v; want the app's roles", perms, delegated, err)
	}
	if n := s.TokenRequests(); n != 1 {
		t.Fatalf("token requests after first sign-in = %d, want 1", n)
	}
	if n := s.CountRequests("", "/common/discovery/instance"); n != 0 {
		t.Errorf("instance discovery was called %d times for a non-Microsoft authority", n)
	}

	info, err := os.Stat(filepath.Join(cfg.CacheDir, tokenCacheFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("cache file mode = %04o, want 0600", perm)
	}
	if dinfo, _ := os.Stat(cfg.CacheDir); dinfo.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode = %04o, want 0700", dinfo.Mode().Perm())
	}
	if f := readCache(t, cfg.CacheDir); f.AccessToken != tok || f.RefreshToken != "" {
		t.Errorf("cache holds %q (refresh %q), want the token and no refresh token", f.AccessToken, f.RefreshToken)
	}

	// A second run: a new process, a new token source, the same state directory.
	s.ResetRequests()
	if got := mustToken(t, mustSource(t, cfg)); got != tok {
		t.Errorf("second run got another token")
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("second run made %d requests to Entra, want 0", n)
	}
}

func TestTokenReusedUntilFiveMinutesBeforeExpiry(t *testing.T) {
	tests := []struct {
		after    time.Duration
		wantSame bool
	}{
		{after: 0, wantSame: true},
		{after: 30 * time.Minute, wantSame: true},
		{after: 54 * time.Minute, wantSame: true},
		{after: 56 * time.Minute, wantSame: false}, // inside the last five minutes of 1h
		{after: 2 * time.Hour, wantSame: false},
	}
	for _, tt := range tests {
		t.Run(tt.after.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, cfg := secretSetup(t)
				cfg.HTTPClient = testtls.InMemory(t, s.Server)
				first := mustToken(t, mustSource(t, cfg))
				time.Sleep(tt.after)
				// Each cron run is a new process: a new source reading the file.
				got := mustToken(t, mustSource(t, cfg))
				if same := got == first; same != tt.wantSame {
					t.Errorf("after %v: same token = %v, want %v", tt.after, same, tt.wantSame)
				}
				wantRequests := 1
				if !tt.wantSame {
					wantRequests = 2
				}
				if n := s.TokenRequests(); n != wantRequests {
					t.Errorf("token requests = %d, want %d", n, wantRequests)
				}
			})
		})
	}
}

func TestInvalidateDropsTokenFromMemoryAndFile(t *testing.T) {
	s, cfg := secretSetup(t)
	ts := mustSource(t, cfg)
	first := mustToken(t, ts)

	ts.Invalidate("some-other-token") // not ours: nothing happens
	if got := mustToken(t, ts); got != first || s.TokenRequests() != 1 {
		t.Fatalf("Invalidate of a foreign token dropped ours")
	}

	ts.Invalidate(first)
	if f := readCache(t, cfg.CacheDir); f.AccessToken != "" {
		t.Errorf("cache file still holds the refused token")
	}
	second := mustToken(t, ts)
	if second == first {
		t.Fatalf("Token after Invalidate returned the refused token")
	}
	if n := s.TokenRequests(); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	// A later run reads the new token, not the refused one.
	if got := mustToken(t, mustSource(t, cfg)); got != second {
		t.Errorf("next run did not reuse the new token")
	}
}

func TestWrongSecretIsAuthErrorWithoutSecret(t *testing.T) {
	_, cfg := secretSetup(t)
	cfg.ClientSecret = "wrong-" + testSecret
	_, err := mustSource(t, cfg).Token(context.Background())
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *AuthError", err, err)
	}
	var ee *EntraError
	if !errors.As(err, &ee) || ee.Code != "invalid_client" || ee.Status != 401 {
		t.Errorf("EntraError = %+v, want invalid_client 401", ee)
	}
	msg := err.Error()
	if strings.Contains(msg, testSecret) {
		t.Errorf("error contains the secret: %s", msg)
	}
	if !strings.Contains(msg, "invalid_client") || !strings.Contains(msg, "AADSTS7000215") || strings.Contains(msg, "\n") {
		t.Errorf("error %q should name Entra's code on one line", msg)
	}
	if _, err := os.Stat(filepath.Join(cfg.CacheDir, tokenCacheFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed sign-in wrote a cache file")
	}
}

func TestSignInErrors(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*AuthConfig, *graphtest.Server)
		wantAuth bool   // *AuthError (exit 4) rather than a plain error (exit 1)
		wantText string // in the message
	}{
		{name: "unknown tenant", mutate: func(c *AuthConfig, _ *graphtest.Server) { c.Tenant = "fabrikam.onmicrosoft.com" },
			wantAuth: true, wantText: "AADSTS90002"},
		{name: "unknown client", mutate: func(c *AuthConfig, _ *graphtest.Server) { c.ClientID = "99999999-2222-3333-4444-555555555555" },
			wantAuth: true, wantText: "unauthorized_client"},
		{name: "entra unavailable", mutate: func(_ *AuthConfig, s *graphtest.Server) {
			s.AddFault(graphtest.Fault{Method: "POST", Path: "/" + testTenant + "/oauth2/v2.0/token", Status: 503})
		}, wantAuth: false, wantText: "temporarily_unavailable"},
		{name: "graph endpoint not a graph resource", mutate: func(c *AuthConfig, _ *graphtest.Server) {
			c.Cloud.GraphEndpoint = "https://graph.example.org"
		}, wantAuth: true, wantText: "invalid_resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, cfg := secretSetup(t)
			tt.mutate(&cfg, s)
			_, err := mustSource(t, cfg).Token(context.Background())
			if err == nil {
				t.Fatal("Token succeeded")
			}
			var ae *AuthError
			if errors.As(err, &ae) != tt.wantAuth {
				t.Errorf("err %v: *AuthError = %v, want %v", err, !tt.wantAuth, tt.wantAuth)
			}
			if !strings.Contains(err.Error(), tt.wantText) || strings.Contains(err.Error(), testSecret) {
				t.Errorf("err = %q, want it to contain %q and not the secret", err, tt.wantText)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	s := newEntra(t)
	tests := []struct {
		name    string
		mutate  func(*AuthConfig)
		wantErr string // "" = valid
	}{
		{name: "valid secret", mutate: func(c *AuthConfig) {}},
		{name: "common with client credentials", mutate: func(c *AuthConfig) { c.Tenant = "common" }, wantErr: "microsoft.tenant"},
		{name: "organizations with client credentials", mutate: func(c *AuthConfig) { c.Tenant = "Organizations" }, wantErr: "microsoft.tenant"},
		{name: "common with device code", mutate: func(c *AuthConfig) { c.Tenant = "organizations"; c.Mode = ModeDeviceCode }},
		{name: "empty secret", mutate: func(c *AuthConfig) { c.ClientSecret = "" }, wantErr: "client secret is empty"},
		{name: "certificate missing", mutate: func(c *AuthConfig) { c.Mode = ModeClientCertificate }, wantErr: "microsoft.certificate_file"},
		{name: "unknown mode", mutate: func(c *AuthConfig) { c.Mode = "password" }, wantErr: "unknown sign-in mode"},
		{name: "no tenant", mutate: func(c *AuthConfig) { c.Tenant = "" }, wantErr: "microsoft.tenant"},
		{name: "no client id", mutate: func(c *AuthConfig) { c.ClientID = " " }, wantErr: "microsoft.client_id"},
		{name: "http authority", mutate: func(c *AuthConfig) { c.Cloud.AuthorityHost = "http://127.0.0.1:1" }, wantErr: "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, s, ModeClientSecret)
			cfg.ClientSecret = testSecret
			tt.mutate(&cfg)
			_, err := NewTokenSource(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want *ConfigError containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCacheKeyedByConfiguration(t *testing.T) {
	s, cfg := secretSetup(t)
	const other = "22222222-2222-3333-4444-555555555555"
	s.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: other, ClientSecret: testSecret, Roles: []string{"User.Read.All"}})
	first := mustToken(t, mustSource(t, cfg))

	cfg2 := cfg
	cfg2.ClientID = other
	second := mustToken(t, mustSource(t, cfg2))
	if second == first || s.TokenRequests() != 2 {
		t.Fatalf("a token cached for another app was reused")
	}
	if perms, _, _ := TokenPermissions(second); strings.Join(perms, ",") != "User.Read.All" {
		t.Errorf("second app's token has roles %v", perms)
	}
}

func TestLooseCacheFileIsTightened(t *testing.T) {
	s, cfg := secretSetup(t)
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	first := mustToken(t, mustSource(t, cfg))
	path := filepath.Join(cfg.CacheDir, tokenCacheFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := mustToken(t, mustSource(t, cfg)); got != first || s.TokenRequests() != 1 {
		t.Errorf("cached token not reused after tightening")
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cache mode = %04o, want 0600", info.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "readable by others") {
		t.Errorf("no warning logged: %s", logs.String())
	}
}

func TestLogout(t *testing.T) {
	s, cfg := secretSetup(t)
	mustToken(t, mustSource(t, cfg))
	if err := Logout(cfg.CacheDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.CacheDir, tokenCacheFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache file still there")
	}
	if err := Logout(cfg.CacheDir); err != nil {
		t.Errorf("second Logout: %v", err)
	}
	mustToken(t, mustSource(t, cfg))
	if n := s.TokenRequests(); n != 2 {
		t.Errorf("token requests after logout = %d, want 2", n)
	}
}

// writeTestCertificate creates an RSA key and a self-signed certificate and writes both as PEM.
func writeTestCertificate(t *testing.T, mode os.FileMode) (path string, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "teamsface test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	path = filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, buf.Bytes(), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return path, cert
}

func TestCertificateSignIn(t *testing.T) {
	path, cert := writeTestCertificate(t, 0o600)
	_, otherCert := writeTestCertificate(t, 0o600)
	tests := []struct {
		name       string
		registered *x509.Certificate
		wantErr    bool
	}{
		{name: "registered certificate", registered: cert},
		{name: "another certificate registered", registered: otherCert, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newEntra(t)
			s.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClient, Certificate: tt.registered, Roles: []string{"Presence.Read.All"}})
			certs, key, err := LoadCertificate(path)
			if err != nil {
				t.Fatalf("LoadCertificate: %v", err)
			}
			cfg := testConfig(t, s, ModeClientCertificate)
			cfg.Certificates, cfg.PrivateKey = certs, key
			tok, err := mustSource(t, cfg).Token(context.Background())
			if tt.wantErr {
				var ae *AuthError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), "invalid_client") {
					t.Fatalf("err = %v, want *AuthError invalid_client", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if perms, _, _ := TokenPermissions(tok); len(perms) != 1 || perms[0] != "Presence.Read.All" {
				t.Errorf("roles = %v", perms)
			}
			// The assertion went to the token endpoint as a signed JWT, never a secret.
			var sawAssertion bool
			for _, r := range s.Requests() {
				if strings.HasSuffix(r.Path, "/token") {
					form, _ := url.ParseQuery(string(r.Body))
					sawAssertion = form.Get("client_assertion") != "" && form.Get("client_secret") == ""
				}
			}
			if !sawAssertion {
				t.Errorf("token request carried no client assertion")
			}
		})
	}
}

func TestLoadCertificateRefusesLooseOrBadFiles(t *testing.T) {
	loose, _ := writeTestCertificate(t, 0o640)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{name: "group readable", path: loose, want: "`chmod 600 " + loose + "`"},
		{name: "not a certificate", path: garbage, want: "not a PEM"},
		{name: "missing", path: filepath.Join(t.TempDir(), "none.pem"), want: "read certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadCertificate(tt.path)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want *ConfigError containing %q", err, tt.want)
			}
		})
	}
}
