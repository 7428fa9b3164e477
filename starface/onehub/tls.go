package onehub

import (
	"context"
	"net"
	"sync/atomic"

	"google.golang.org/grpc/credentials"
)

// handshakeErrors remembers why the latest TLS handshake failed. gRPC reports a failed
// connection only as UNAVAILABLE with the cause flattened into the message; keeping the error
// lets an *Error carry it (errors.As finds a *FingerprintError or a
// *tls.CertificateVerificationError) and say plainly that TLS failed.
type handshakeErrors struct {
	last   atomic.Pointer[error]
	dialer func(ctx context.Context, addr string) (net.Conn, error) // Options.Dial; nil: TCP
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
	if h.dialer != nil {
		return h.dialer(ctx, addr)
	}
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
