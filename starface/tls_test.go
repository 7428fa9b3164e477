package starface_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/starface"
)

// tlsClient builds a client the way production does (no HTTPClient), so TLS options apply.
func tlsClient(t *testing.T, url string, mod func(*starface.Options)) (*starface.Client, error) {
	o := starface.Options{URL: url, Login: "0001", Password: adminPW, MaxRetries: -1}
	mod(&o)
	return starface.New(o)
}

func TestTLSTrust(t *testing.T) {
	s := newServer(t)
	sum := sha256.Sum256(s.Certificate().Raw)
	colons := starface.FormatFingerprint(sum[:])
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("ab", 32)

	tests := []struct {
		name    string
		mod     func(*starface.Options)
		wantErr func(error) bool
		warns   int
	}{
		{"pinned fingerprint, colons, lower case", func(o *starface.Options) { o.Fingerprint = strings.ToLower(colons) }, nil, 0},
		{"pinned fingerprint, plain hex", func(o *starface.Options) { o.Fingerprint = strings.ToUpper(hex.EncodeToString(sum[:])) }, nil, 0},
		{"pin wins over insecure", func(o *starface.Options) { o.Fingerprint = colons; o.InsecureSkipVerify = true }, nil, 1},
		{"ca file", func(o *starface.Options) { o.CAFile = caFile }, nil, 0},
		{"insecure skip verify", func(o *starface.Options) { o.InsecureSkipVerify = true }, nil, 1},
		{"wrong fingerprint", func(o *starface.Options) { o.Fingerprint = wrong }, func(err error) bool {
			var fe *starface.FingerprintError
			return errors.As(err, &fe) && fe.Got == colons &&
				strings.Contains(err.Error(), "fingerprint did not match") && strings.Contains(err.Error(), colons)
		}, 0},
		{"system roots refuse the test certificate", func(o *starface.Options) {}, func(err error) bool {
			var cve *tls.CertificateVerificationError
			var uae x509.UnknownAuthorityError
			return errors.As(err, &cve) || errors.As(err, &uae)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tlsClient(t, s.URL, tt.mod)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			_, err = c.Users(context.Background())
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Users: %v", err)
			}
			if tt.wantErr != nil && (err == nil || !tt.wantErr(err)) {
				t.Fatalf("Users: err = %v (%T), not the expected kind", err, err)
			}
			if got := len(c.Warnings()); got != tt.warns {
				t.Errorf("warnings = %q, want %d", c.Warnings(), tt.warns)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		o    starface.Options
		err  string // substring; "" = valid
	}{
		{"ok", starface.Options{URL: "https://pbx.example.com", Login: "0001"}, ""},
		{"no url", starface.Options{Login: "0001"}, "no url"},
		{"ftp", starface.Options{URL: "ftp://pbx", Login: "0001"}, "scheme"},
		{"no host", starface.Options{URL: "https:///rest", Login: "0001"}, "no host"},
		{"query", starface.Options{URL: "https://pbx/?a=b", Login: "0001"}, "query"},
		{"no login", starface.Options{URL: "https://pbx"}, "no login"},
		{"short fingerprint", starface.Options{URL: "https://pbx", Login: "0001", Fingerprint: "ab:cd"}, "invalid fingerprint"},
		{"non-hex fingerprint", starface.Options{URL: "https://pbx", Login: "0001", Fingerprint: strings.Repeat("zz", 32)}, "invalid fingerprint"},
		{"missing ca file", starface.Options{URL: "https://pbx", Login: "0001", CAFile: "/nonexistent/ca.pem"}, "ca file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := starface.New(tt.o)
			if tt.err == "" && err != nil {
				t.Fatalf("New: %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("New: err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestCAFileWithoutCertificate(t *testing.T) {
	f := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(f, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := starface.New(starface.Options{URL: "https://pbx", Login: "0001", CAFile: f})
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("err = %v", err)
	}
}

func TestURLForms(t *testing.T) {
	s := newServer(t)
	for _, suffix := range []string{"", "/", "/rest", "/rest/"} {
		t.Run("suffix "+suffix, func(t *testing.T) {
			s.ResetRequests()
			c := newClient(t, s, func(o *starface.Options) { o.URL = s.URL + suffix })
			if _, err := c.Groups(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, r := range s.Requests() {
				if !strings.HasPrefix(r.Path, "/rest/") || strings.HasPrefix(r.Path, "/rest/rest") {
					t.Errorf("request path %s", r.Path)
				}
			}
		})
	}
	c := newClient(t, s, func(o *starface.Options) { o.URL = "http://127.0.0.1:1" })
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "clear text") {
		t.Errorf("http:// warnings = %q", w)
	}
}
