package onehub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc/credentials"
)

// tlsConfig applies the same trust settings as the REST client (starface.Options): a pinned
// fingerprint alone decides; else CAFile replaces the system roots; InsecureSkipVerify is the
// last resort. It returns warnings for weak choices.
func tlsConfig(o Options) (*tls.Config, []string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	var warn []string
	if o.Fingerprint != "" {
		want, err := parseFingerprint(o.Fingerprint)
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
				return &FingerprintError{Want: formatFingerprint(want), Got: formatFingerprint(got[:])}
			}
			return nil
		}
		if o.InsecureSkipVerify {
			warn = append(warn, "starface onehub: insecure_skip_verify is ignored because a fingerprint is pinned")
		}
		return tc, warn, nil
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("starface onehub: read ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.TrimSpace(pem)) {
			return nil, nil, fmt.Errorf("starface onehub: ca file %s holds no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	if o.InsecureSkipVerify {
		tc.InsecureSkipVerify = true
		warn = append(warn, "starface onehub: insecure_skip_verify is on, the PBX certificate is not checked (set fingerprint or ca_file instead)")
	}
	return tc, warn, nil
}

// parseFingerprint reads a SHA-256 fingerprint as hex in either case, colons or spaces optional.
func parseFingerprint(s string) ([]byte, error) {
	clean := strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(s))
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("starface onehub: invalid fingerprint %q: want the SHA-256 of the certificate as 64 hex digits", s)
	}
	return b, nil
}

func formatFingerprint(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	parts := make([]string, 0, len(h)/2)
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// handshakeErrors remembers why the latest TLS handshake failed. gRPC reports a failed
// connection only as UNAVAILABLE with the cause flattened into the message; keeping the error
// lets an *Error carry it (errors.As finds a *FingerprintError or a
// *tls.CertificateVerificationError) and say plainly that TLS failed.
type handshakeErrors struct {
	last atomic.Pointer[error]
}

func (h *handshakeErrors) load() error {
	if p := h.last.Load(); p != nil {
		return *p
	}
	return nil
}

// dial starts a connection attempt: it forgets the previous attempt's handshake error, so that
// a PBX that is down now is not reported as a TLS failure of an hour ago.
func (h *handshakeErrors) dial(ctx context.Context, addr string) (net.Conn, error) {
	h.last.Store(nil)
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// recordingCreds are TLS transport credentials that note the outcome of each client handshake.
type recordingCreds struct {
	credentials.TransportCredentials
	h *handshakeErrors
}

func (c recordingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		c.h.last.Store(&err)
	}
	return conn, info, err
}

func (c recordingCreds) Clone() credentials.TransportCredentials {
	return recordingCreds{TransportCredentials: c.TransportCredentials.Clone(), h: c.h}
}
