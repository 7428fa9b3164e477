// Package testtls starts the test doubles' TLS servers with one ECDSA P-256 certificate, made
// once per process and shared by every double, so that one HTTP client trusts them all.
//
// httptest's own certificate is RSA-2048: every TLS handshake then costs an RSA signature, which
// was a third of the CPU time of the cmd tests (each test starts its own doubles and connects
// anew). An ECDSA signature costs a small fraction of that.
package testtls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"
)

var (
	once sync.Once
	cert tls.Certificate
)

// Certificate is the doubles' certificate, for 127.0.0.1, ::1, localhost and example.com
// (httptest's names), valid from 2000 to 2100.
func Certificate() tls.Certificate {
	once.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic("testtls: " + err.Error())
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{Organization: []string{"teamsface test doubles"}},
			NotBefore:    time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			IsCA:         true,

			BasicConstraintsValid: true,
			DNSNames:              []string{"localhost", "example.com"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic("testtls: " + err.Error())
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			panic("testtls: " + err.Error())
		}
		cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	})
	return cert
}

// NewServer starts an httptest TLS server presenting Certificate. Its Client trusts it, and so
// every other server started here.
//
// Both ends use X25519 alone for the key exchange: Go's default adds a post-quantum key share
// (X25519MLKEM768) to every handshake, which tests that start thousands of connections pay for
// in CPU and which proves nothing about teamsface (its own clients keep Go's defaults).
func NewServer(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{Certificate()}, CurvePreferences: []tls.CurveID{tls.X25519}}
	s.Config.ErrorLog = log.New(quietWriter{os.Stderr}, "", log.LstdFlags)
	s.StartTLS()
	if tr, ok := s.Client().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		tr.TLSClientConfig.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	return s
}

// quietWriter drops the server's complaint about a TLS handshake cut off because a connection
// was closed: a client that stopped (a run ended, a test's server closed) while its connection
// was being set up. It is not a fault, and the demo, whose simulated services are these servers,
// printed it to the admin watching it. Every other line of the server's log is written.
type quietWriter struct{ w io.Writer }

func (q quietWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("TLS handshake error")) &&
		(bytes.Contains(p, []byte("use of closed network connection")) || bytes.Contains(p, []byte(": EOF"))) {
		return len(p), nil
	}
	return q.w.Write(p)
}
