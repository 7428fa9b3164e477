package testtls

import (
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
