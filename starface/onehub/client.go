package onehub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/useridlookuppb"
)

// Tokens gives the OAuth access token of ../shared/api/starface.md ("Login (STARFACE 10)"); the
// STARFACE OAuth client implements it. InvalidateAccessToken is called with a token OneHub
// refused, so that the next AccessToken refreshes it (and does not drop a newer one).
type Tokens interface {
	AccessToken(ctx context.Context) (string, error)
	InvalidateAccessToken(tok string)
}

// DefaultChunkSize is how many ids one request carries by default. The largest list OneHub
// accepts is unknown (starface-onehub.md, "Unknown"); the observed client sends 500. We send
// 1,000 so that a `sync once` pass for 1,000 users costs three requests (id lookup when not
// cached, one subscribe, one unsubscribe); set Options.ChunkSize lower if a PBX refuses that.
const DefaultChunkSize = 1000

// Options configure a Client. Target and Tokens are required.
type Options struct {
	// Target is OneHub's host:port. The caller derives it: DefaultTarget (the PBX host, port
	// 9092) or TargetFromURL (a configured onehub_url or a cloud PBX's gRpcUrl).
	Target string
	// CAFile, Fingerprint and InsecureSkipVerify decide trust exactly as for the REST client:
	// a pinned SHA-256 of the leaf certificate's DER alone decides; else CAFile replaces the
	// system roots; InsecureSkipVerify is the last resort (Warnings reports it).
	CAFile             string
	Fingerprint        string
	InsecureSkipVerify bool
	// TLSConfig replaces the three settings above (tests: onehubtest's ClientTLSConfig).
	TLSConfig *tls.Config
	// Tokens gives the bearer token for every call.
	Tokens Tokens
	// Logger gets one debug line per call and one trace line per event (default: discard).
	// Tokens are never logged.
	Logger *slog.Logger
	// Now stamps events (Event.At) and times calls (default time.Now).
	Now func() time.Time
	// ChunkSize is how many ids one request carries (default DefaultChunkSize).
	ChunkSize int
	// Timeout bounds one unary call (default 30s).
	Timeout time.Duration
	// Dial opens a connection to addr (Target) for gRPC; nil: TCP. Tests connect to
	// onehubtest's in-memory server with its Dial.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Client talks to one PBX's OneHub. It is safe for concurrent use; Close it when done.
type Client struct {
	conn     *grpc.ClientConn
	lookup   useridlookuppb.UserIdLookupServiceClient
	presence presencepb.PresenceServiceClient
	target   string
	tokens   Tokens
	log      *slog.Logger
	now      func() time.Time
	chunk    int
	timeout  time.Duration
	tlsErrs  *handshakeErrors
	warnings []string

	nCalls      atomic.Int64
	nFailed     atomic.Int64
	nRefreshes  atomic.Int64
	nEvents     atomic.Int64
	nReconnects atomic.Int64
}

// Stats counts what a Client did, for metrics.
type Stats struct {
	Calls      int64 // gRPC requests sent: unary calls, retries and event streams opened
	Failed     int64 // requests that ended in an error (a refused token retried included)
	Refreshes  int64 // tokens dropped after UNAUTHENTICATED
	Events     int64 // messages received on event streams
	Reconnects int64 // event streams opened again after one broke or could not be opened
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{
		Calls: c.nCalls.Load(), Failed: c.nFailed.Load(), Refreshes: c.nRefreshes.Load(),
		Events: c.nEvents.Load(), Reconnects: c.nReconnects.Load(),
	}
}

// Warnings lists configuration choices that weaken security; print them like the REST
// client's.
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

// Dial validates the options and sets up the connection. It does not wait for the PBX: the
// connection is made by the first call (and made again after it broke), so an unreachable or
// misconfigured OneHub shows as that call's *Error, which the caller can fall back on.
func Dial(ctx context.Context, o Options) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Tokens == nil {
		return nil, errors.New("starface onehub: no access tokens: OneHub needs the STARFACE OAuth sign-in")
	}
	if err := checkTarget(o.Target); err != nil {
		return nil, err
	}
	c := &Client{
		target: o.Target, tokens: o.Tokens, log: o.Logger, now: o.Now, chunk: o.ChunkSize,
		timeout: o.Timeout, tlsErrs: &handshakeErrors{dialer: o.Dial},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.chunk <= 0 {
		c.chunk = DefaultChunkSize
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	tc := o.TLSConfig
	if tc == nil {
		var err error
		var warn []string
		if tc, warn, err = starface.TLSConfig("starface onehub", o.CAFile, o.Fingerprint, o.InsecureSkipVerify); err != nil {
			return nil, err
		}
		c.warnings = warn
	}
	conn, err := grpc.NewClient("dns:///"+o.Target,
		grpc.WithTransportCredentials(recordingCreds{credentials.NewTLS(tc), c.tlsErrs}),
		// Our own dialer, so that each attempt starts with no handshake error noted. It also
		// means HTTPS_PROXY is not used: the PBX is reached directly, as the REST client does
		// for an internal PBX.
		grpc.WithContextDialer(c.tlsErrs.dial),
		grpc.WithUserAgent("teamsface"),
		// gRPC's own reconnect backoff grows to 120s; starface-onehub.md asks for at most 30s.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: connectBackoff, MinConnectTimeout: 20 * time.Second}),
		// Pings keep a quiet event stream alive through NAT and firewalls and find a dead one.
		// Servers commonly refuse pings more often than every 5 minutes (gRPC's default
		// enforcement policy), so not more often.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 5 * time.Minute, Timeout: 20 * time.Second}),
	)
	if err != nil {
		return nil, fmt.Errorf("starface onehub: %w", err)
	}
	c.conn = conn
	c.lookup = useridlookuppb.NewUserIdLookupServiceClient(conn)
	c.presence = presencepb.NewPresenceServiceClient(conn)
	return c, nil
}

// Close ends the connection; calls and Watch still running fail.
func (c *Client) Close() error { return c.conn.Close() }

// checkTarget wants host:port, as DefaultTarget and TargetFromURL make it.
func checkTarget(t string) error {
	if t == "" {
		return errors.New("starface onehub: no target: want host:port, e.g. pbx.example.com:9092")
	}
	host, port, err := net.SplitHostPort(t)
	if err != nil || host == "" || port == "" || strings.Contains(t, "/") {
		return fmt.Errorf("starface onehub: invalid target %q: want host:port, e.g. pbx.example.com:9092", t)
	}
	return nil
}

// bearer is the per-RPC credential of one call. RequireTransportSecurity makes gRPC refuse to
// send it over a connection without TLS.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }

// String keeps the token out of anything that prints the credential.
func (bearer) String() string { return "Bearer [redacted]" }

// call runs one unary call with a bearer token. UNAUTHENTICATED drops that token and repeats the
// call once with a fresh one. ids is the list length, for the debug log.
func (c *Client) call(ctx context.Context, op, method string, ids int, f func(ctx context.Context, opts ...grpc.CallOption) error) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.AccessToken(ctx)
		if err != nil {
			return &Error{Op: op, Code: codes.Unauthenticated, Msg: "get access token", Err: err}
		}
		start := c.now()
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		err = f(cctx, grpc.PerRPCCredentials(bearer(tok)))
		cancel()
		c.nCalls.Add(1)
		code := status.Code(err)
		c.log.Debug("onehub call", "method", method, "ids", ids, "code", code.String(), "duration", c.now().Sub(start))
		if err == nil {
			return nil
		}
		c.nFailed.Add(1)
		if code == codes.Unauthenticated && attempt == 0 && ctx.Err() == nil {
			c.tokens.InvalidateAccessToken(tok)
			c.nRefreshes.Add(1)
			continue
		}
		return c.wrap(ctx, op, err)
	}
}

// wrap makes the *Error of a failed call, naming a failed TLS handshake as such.
func (c *Client) wrap(ctx context.Context, op string, err error) *Error {
	e := newError(ctx, op, err)
	if e.Code == codes.Unavailable && e.Err == nil {
		if herr := c.tlsErrs.load(); herr != nil {
			e.Msg = "tls handshake with " + c.target + " failed"
			e.Err = herr
		}
	}
	return e
}

var connectBackoff = backoff.Config{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 30 * time.Second}

// reconnectBackoff is Watch's wait before reconnect number n (1, 2, ...): 1s, 2s, 4s, ... up to
// 30s (starface-onehub.md: "reconnect with backoff (up to 30 s)"), each shortened by up to a
// fifth at random so that many clients restarted together do not reconnect in step.
func reconnectBackoff(n int) time.Duration {
	d := 30 * time.Second
	if n < 6 {
		d = min(d, time.Second<<max(n-1, 0))
	}
	return d - time.Duration(rand.Int64N(int64(d/5)+1))
}
