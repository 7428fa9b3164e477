package testtls

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// InMemory takes s off the network and serves its handler, with its certificate, over
// in-memory connections instead; it returns a client that trusts it and reaches it for every
// URL, s.URL included. s's loopback listener is closed (s.Client no longer connects). Closing
// the rest is left to t.Cleanup.
//
// It is for tests in a testing/synctest bubble, whose clock moves only while every goroutine
// in it is durably blocked, which a goroutine waiting on a socket never is. Start s (a double)
// and call InMemory inside the bubble, one right after the other: the server's and the
// client's goroutines then belong to the bubble, and the double's handlers run on its clock
// (their latency, Retry-After and token lifetimes included).
func InMemory(t testing.TB, s *httptest.Server) *http.Client {
	t.Helper()
	tr, ok := s.Client().Transport.(*http.Transport)
	if !ok || s.TLS == nil {
		t.Fatal("testtls: InMemory needs a TLS server started by NewServer")
	}
	// The goroutine accepting on the loopback listener ends with it.
	_ = s.Listener.Close()
	lis := &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{
		Handler:   s.Config.Handler,
		TLSConfig: s.TLS.Clone(),
		// A client that hangs up mid-handshake is no news in tests.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(lis, "", ""); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("testtls: in-memory server: %v", err)
		}
	}()
	client := &http.Transport{
		DialContext:     func(ctx context.Context, _, _ string) (net.Conn, error) { return lis.DialContext(ctx) },
		TLSClientConfig: tr.TLSClientConfig.Clone(),
	}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		_ = srv.Close()
		<-done
	})
	return &http.Client{Transport: client}
}

// memListener hands out the server ends of in-memory connections (memConn).
type memListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

// DialContext connects a client end to the next Accept.
func (l *memListener) DialContext(ctx context.Context) (net.Conn, error) {
	up, down := newHalf(), newHalf()
	client, server := &memConn{r: down, w: up}, &memConn{r: up, w: down}
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, errors.New("testtls: in-memory server closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// memConn is one end of an in-memory connection. Unlike net.Pipe its writes never block (each
// direction buffers without bound), as both ends of a TLS connection write their close_notify
// at once when they close together; unlike gRPC's bufconn its deadlines hold exactly: net/http's
// server sets and clears a read deadline around every request, and a deadline timer that fires
// after it was cleared would cut an idle keep-alive connection now and then.
type memConn struct {
	r, w *half
}

func (c *memConn) Read(b []byte) (int, error)  { return c.r.read(b) }
func (c *memConn) Write(b []byte) (int, error) { return c.w.write(b) }

// Close ends both directions: the peer reads what was written, then io.EOF; its writes fail.
func (c *memConn) Close() error {
	c.w.closeWrite()
	c.r.closeRead()
	return nil
}

func (c *memConn) SetDeadline(t time.Time) error {
	c.r.setDeadline(&c.r.readDeadline, t)
	c.w.setDeadline(&c.w.writeDeadline, t)
	return nil
}
func (c *memConn) SetReadDeadline(t time.Time) error {
	c.r.setDeadline(&c.r.readDeadline, t)
	return nil
}
func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.w.setDeadline(&c.w.writeDeadline, t)
	return nil
}
func (c *memConn) LocalAddr() net.Addr  { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr { return memAddr{} }

// half is one direction of a memConn. changed is closed and replaced whenever anything
// changes, to wake a waiting reader, which then looks at the state again: a deadline timer that
// fires late does no harm.
type half struct {
	mu            sync.Mutex
	buf           []byte
	writeClosed   bool // the writer closed: the reader gets io.EOF once buf is read
	readClosed    bool // the reader closed: reads and writes fail
	readDeadline  time.Time
	writeDeadline time.Time
	changed       chan struct{}
}

func newHalf() *half { return &half{changed: make(chan struct{})} }

func (h *half) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *half) read(b []byte) (int, error) {
	for {
		h.mu.Lock()
		switch {
		case h.readClosed:
			h.mu.Unlock()
			return 0, net.ErrClosed
		case len(h.buf) > 0:
			n := copy(b, h.buf)
			h.buf = h.buf[n:]
			h.mu.Unlock()
			return n, nil
		case h.writeClosed:
			h.mu.Unlock()
			return 0, io.EOF
		case passed(h.readDeadline):
			h.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		changed, deadline := h.changed, h.readDeadline
		h.mu.Unlock()
		if deadline.IsZero() {
			<-changed
			continue
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

func (h *half) write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.writeClosed || h.readClosed:
		return 0, net.ErrClosed
	case passed(h.writeDeadline):
		return 0, os.ErrDeadlineExceeded
	}
	h.buf = append(h.buf, b...)
	h.notifyLocked()
	return len(b), nil
}

func (h *half) closeWrite() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writeClosed = true
	h.notifyLocked()
}

func (h *half) closeRead() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readClosed, h.buf = true, nil
	h.notifyLocked()
}

// setDeadline sets one of h's deadlines, d, to t.
func (h *half) setDeadline(d *time.Time, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	*d = t
	h.notifyLocked()
}

func passed(deadline time.Time) bool { return !deadline.IsZero() && !time.Now().Before(deadline) }

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "in-memory" }
