package starface

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// FingerprintError says that the PBX presented a certificate other than the pinned one. It
// reaches the caller inside the failed operation's error ("starface: list users: log in as
// 0001: certificate fingerprint did not match: ..."), so it does not name the service itself.
type FingerprintError struct {
	Want string // the pinned fingerprint, canonical form (AB:CD:...)
	Got  string // the fingerprint of the leaf certificate the server presented
}

func (e *FingerprintError) Error() string {
	return fmt.Sprintf("certificate fingerprint did not match: pinned %s, server presented %s", e.Want, e.Got)
}

// parseFingerprint reads a SHA-256 fingerprint written as hex in either case, with or without
// colons, spaces or dashes, and returns its 32 bytes.
func parseFingerprint(service, s string) ([]byte, error) {
	clean := strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s))
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%s: invalid fingerprint %q: want the SHA-256 of the certificate as 64 hex digits", service, s)
	}
	return b, nil
}

// FormatFingerprint writes a fingerprint the way browsers and openssl show it (AB:CD:...).
func FormatFingerprint(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

func tlsConfig(o Options) (*tls.Config, []string, error) {
	return TLSConfig("starface", o.CAFile, o.Fingerprint, o.InsecureSkipVerify)
}

// TLSConfig builds the settings for a TLS connection to the PBX, the same for each of its
// interfaces (REST, OneHub): a pinned SHA-256 fingerprint of the leaf certificate alone decides;
// else caFile replaces the system roots; insecure is the last resort. It returns warnings for
// weak choices; service names the interface in errors and warnings.
func TLSConfig(service, caFile, fingerprint string, insecure bool) (*tls.Config, []string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	var warn []string
	if fingerprint != "" {
		want, err := parseFingerprint(service, fingerprint)
		if err != nil {
			return nil, nil, err
		}
		// The pin replaces chain and host name checks: Go's verifier is switched off and
		// VerifyConnection alone decides, which is what lets a self-signed PBX work.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server presented no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return &FingerprintError{Want: FormatFingerprint(want), Got: FormatFingerprint(got[:])}
			}
			return nil
		}
		if insecure {
			warn = append(warn, service+": insecure_skip_verify is ignored because a fingerprint is pinned")
		}
		return tc, warn, nil
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: read ca file: %w", service, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.TrimSpace(pem)) {
			return nil, nil, fmt.Errorf("%s: ca file %s holds no PEM certificate", service, caFile)
		}
		tc.RootCAs = pool
	}
	if insecure {
		tc.InsecureSkipVerify = true
		warn = append(warn, service+": insecure_skip_verify is on, the PBX certificate is not checked (set fingerprint or ca_file instead)")
	}
	return tc, warn, nil
}
