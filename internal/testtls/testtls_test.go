package testtls

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"
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

// In a synctest bubble a request through InMemory's client reaches the server's handler, which
// waits on the bubble's clock: an hour passes at once, and exactly.
func TestInMemoryRunsOnTheBubblesClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Hour)
			io.WriteString(w, r.Host)
		}))
		defer s.Close()
		c := InMemory(t, s)
		start := time.Now()
		res, err := c.Get(s.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != strings.TrimPrefix(s.URL, "https://") || time.Since(start) != time.Hour {
			t.Errorf("answer %q after %v, want %q after 1h", body, time.Since(start), strings.TrimPrefix(s.URL, "https://"))
		}
	})
}

// net/http's server aborts a background read with a deadline in the past and clears it again
// after every request: a read after that waits for data, however late the old deadline's timer
// fires, and a deadline set again ends a read on time.
func TestMemConnDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &memListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
		client, err := l.DialContext(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		server, _ := l.Accept()
		defer client.Close()
		defer server.Close()
		buf := make([]byte, 8)
		server.SetReadDeadline(time.Unix(1, 0))
		if _, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
		}
		server.SetReadDeadline(time.Time{})
		go func() {
			time.Sleep(time.Minute)
			client.Write([]byte("late"))
		}()
		start := time.Now()
		if n, err := server.Read(buf); err != nil || string(buf[:n]) != "late" || time.Since(start) != time.Minute {
			t.Fatalf("read %q, %v after %v; want the data written a minute later", buf[:n], err, time.Since(start))
		}
		server.SetReadDeadline(time.Now().Add(time.Second))
		start = time.Now()
		if _, err := server.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("read with a deadline in 1s: %v after %v", err, time.Since(start))
		}
		client.Close()
		if _, err := server.Read(buf); err != io.EOF {
			t.Errorf("read after the peer closed: %v, want io.EOF", err)
		}
	})
}
