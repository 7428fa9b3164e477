package testtls

import (
	"bytes"
	"crypto/ecdsa"
	"io"
	"net/http"
	"testing"
)

// Every server started here presents the one ECDSA certificate, so one server's client trusts
// the others too (the harness talks to both doubles with one client).
func TestServersShareOneTrustedCertificate(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	a, b := NewServer(ok), NewServer(ok)
	defer a.Close()
	defer b.Close()
	if _, isECDSA := a.Certificate().PublicKey.(*ecdsa.PublicKey); !isECDSA {
		t.Fatalf("certificate key is %T, want ECDSA", a.Certificate().PublicKey)
	}
	res, err := a.Client().Get(b.URL)
	if err != nil {
		t.Fatalf("a's client does not trust b: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d", res.StatusCode)
	}
}

func TestQuietWriterDropsOnlyClosedHandshakes(t *testing.T) {
	var b bytes.Buffer
	q := quietWriter{&b}
	for _, line := range []string{
		"2026/12/07 04:23:36 http: TLS handshake error from 127.0.0.1:43418: read tcp 127.0.0.1:43421->127.0.0.1:43418: use of closed network connection\n",
		"2026/12/07 04:23:36 http: TLS handshake error from 127.0.0.1:43418: EOF\n",
	} {
		if n, err := q.Write([]byte(line)); n != len(line) || err != nil {
			t.Errorf("Write = %d, %v", n, err)
		}
	}
	kept := "2026/12/07 04:23:36 http: TLS handshake error from 127.0.0.1:1: remote error: tls: bad certificate\n"
	q.Write([]byte(kept))
	q.Write([]byte("http: panic serving 127.0.0.1:1: boom\n"))
	if b.String() != kept+"http: panic serving 127.0.0.1:1: boom\n" {
		t.Errorf("written:\n%s", b.String())
	}
}
