// Package onehubtest is a test double of STARFACE 10's OneHub gRPC interface
// (../shared/api/starface-onehub.md): an in-process gRPC server over TLS with a self-signed
// certificate that answers BatchGetUserIdentifiers and the PresenceService calls from the users
// of a starfacetest.Server, so the REST double and this one show the same DND, and streams
// DoNotDisturbStatusChanged / TelephonyStateChanged when a test changes a user's DND (SetDND or
// a phone config PUT) or call state (OnCall, SetTelephonyState).
//
// Like the real interface it demands `authorization: Bearer <token>` on every call
// (UNAUTHENTICATED when missing, invalid or expired; the classic authToken is not accepted),
// sends nothing on an event stream until the first event, and delivers events only for
// subscribed users to streams open at the time. Tests can refuse subscriptions to chosen users
// (PERMISSION_DENIED), inject failures and latency, drop the open streams, make the server
// unreachable, and read the log of calls it got.
//
// What the documentation leaves open, and how the double decides it (change it here when a real
// PBX shows otherwise):
//   - Subscriptions belong to the signed-in account, not to a stream: they survive a stream that
//     breaks, and one client's unsubscribe ends them for its streams too. All tokens are one
//     account.
//   - Ids OneHub does not know are left out of answers, not refused.
//   - A subscription sends one PresenceStateSubscribed event per newly subscribed user to the
//     open streams, an unsubscribe one PresenceStateUnsubscribed.
//   - There is no limit on list lengths unless Options.MaxIDs sets one (INVALID_ARGUMENT past it).
//   - Group subscriptions are not simulated (UNIMPLEMENTED).
package onehubtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/teamsface/teamsface/internal/ctxtime"
	"github.com/teamsface/teamsface/internal/doubles"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/useridlookuppb"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// Errors a CheckToken function returns to say why a token is refused. Both answer
// UNAUTHENTICATED; the message says which.
var (
	ErrTokenExpired = errors.New("access token expired")
	ErrTokenInvalid = errors.New("invalid access token")
)

// Options configure a Server.
type Options struct {
	// CheckToken decides whether a bearer token is valid: nil, ErrTokenExpired or
	// ErrTokenInvalid (any other error counts as invalid). Point it at the OAuth double's
	// validator. Nil: tokens from IssueToken are valid until ExpireTokens.
	CheckToken func(tok string) error
	// MaxIDs is the longest id list one request may carry (0: no limit).
	MaxIDs int
	// InMemory serves over in-memory connections instead of a loopback port; clients connect
	// with Server.Dial (onehub.Options.Dial). A test in a testing/synctest bubble needs it, as
	// a goroutine reading a socket is not durably blocked and would hold the bubble's clock,
	// and creates the Server inside the bubble.
	InMemory bool
}

// Fault is an injected failure or latency for calls to Method (the short name, e.g.
// "SubscribePresenceStates", or the full path; "" = any), used Times times (0 = for ever).
type Fault struct {
	Method string
	Code   codes.Code // answer with this status; codes.OK = latency only
	Msg    string
	Delay  time.Duration // waited before answering; ends early when the client gives up
	Times  int
}

// faults gives Server AddFault and ClearFaults without an exported field.
type faults = doubles.Faults[Fault]

// Call is one call the server got.
type Call struct {
	Method string     // full method name, e.g. /gamma.onehub.api.v1.presence.PresenceService/SubscribePresenceStates
	IDs    int        // ids in the request's list
	Token  string     // the bearer token as it came ("" when none)
	Code   codes.Code // the answer (codes.Unknown while the call is held by a delay); for the event stream, the answer to opening it
}

// Server is the double. Create it with NewServer and Close it. Besides its own methods it has
// AddFault(Fault) and ClearFaults(), which the doubles share (internal/doubles.Faults).
type Server struct {
	faults
	rest      *starfacetest.Server
	opts      Options
	gs        *grpc.Server
	lis       *gateListener
	mem       *bufconn.Listener // Options.InMemory; nil: lis listens on a loopback port
	cert      *x509.Certificate
	cancelSub func()
	calls     doubles.Log[Call]

	mu          sync.Mutex
	tokens      map[string]bool // issued tokens; false once expired
	allowed     map[int]bool    // nil: any user may be subscribed
	emptyUserID map[int]bool    // users whose lookup answer has no user_id
	byOneHubID  map[string]int
	subscribed  map[int]bool // REST ids
	streams     map[*eventStream]bool
	streamsChg  chan struct{} // closed and replaced whenever streams changes
}

// NewServer starts a double serving the users of rest on a loopback port. It panics when it
// cannot listen, like httptest.NewServer.
func NewServer(rest *starfacetest.Server, o Options) *Server {
	s := &Server{
		rest: rest, opts: o,
		tokens: map[string]bool{}, emptyUserID: map[int]bool{}, byOneHubID: map[string]int{},
		subscribed: map[int]bool{}, streams: map[*eventStream]bool{}, streamsChg: make(chan struct{}),
	}
	cert, tc := selfSigned()
	s.cert = cert
	var l net.Listener
	if o.InMemory {
		s.mem = bufconn.Listen(1 << 20)
		l = s.mem
	} else {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			panic("onehubtest: listen: " + err.Error())
		}
	}
	s.lis = &gateListener{Listener: l, conns: map[*trackedConn]bool{}}
	s.gs = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{tc}, MinVersion: tls.VersionTLS12})),
		grpc.UnaryInterceptor(s.unaryInterceptor),
		grpc.StreamInterceptor(s.streamInterceptor),
	)
	useridlookuppb.RegisterUserIdLookupServiceServer(s.gs, lookupService{s: s})
	presencepb.RegisterPresenceServiceServer(s.gs, presenceService{s: s})
	s.cancelSub = rest.Subscribe(s.changed)
	go func() { _ = s.gs.Serve(s.lis) }()
	return s
}

// Close stops the server, ending every call and stream.
func (s *Server) Close() {
	s.cancelSub()
	s.gs.Stop()
}

// Target is the server's host:port, for onehub.Options.Target. An in-memory server has none:
// its Target is one its certificate is valid for, and Dial ignores it.
func (s *Server) Target() string {
	if s.mem != nil {
		return "127.0.0.1:0"
	}
	return s.lis.Addr().String()
}

// Dial connects to the server, for onehub.Options.Dial: in memory with Options.InMemory, else
// over TCP to addr.
func (s *Server) Dial(ctx context.Context, addr string) (net.Conn, error) {
	if s.mem != nil {
		return s.mem.DialContext(ctx)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// Certificate is the server's self-signed certificate.
func (s *Server) Certificate() *x509.Certificate { return s.cert }

// CertificatePEM is the certificate as PEM, for a CA file.
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

// Fingerprint is the SHA-256 of the certificate's DER as AB:CD:..., for a pinned fingerprint.
func (s *Server) Fingerprint() string {
	sum := sha256.Sum256(s.cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// ClientTLSConfig trusts the server's certificate, for onehub.Options.TLSConfig.
func (s *Server) ClientTLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.cert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// IssueToken returns a new token that the default CheckToken accepts.
func (s *Server) IssueToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = true
	return tok
}

// ExpireTokens makes every token issued so far expired for the default CheckToken.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok := range s.tokens {
		s.tokens[tok] = false
	}
}

// AllowSubscriptionsOnly refuses (PERMISSION_DENIED) any subscription whose list holds a user
// other than these REST ids, as a PBX might for a user who may watch only itself and its
// busy-lamp keys. With no ids, every user may be subscribed again.
func (s *Server) AllowSubscriptionsOnly(userIDs ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed = nil
	if len(userIDs) > 0 {
		s.allowed = map[int]bool{}
		for _, id := range userIDs {
			s.allowed[id] = true
		}
	}
}

// SetEmptyUserID makes the id lookup answer these users with an empty user_id and only a
// one_hub_user_id, which the presence calls then take (the observed client's fallback).
func (s *Server) SetEmptyUserID(userIDs ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range userIDs {
		s.emptyUserID[id] = true
	}
}

// OneHubID is the id the presence calls take for a REST user: its user_id, or its
// one_hub_user_id after SetEmptyUserID.
func (s *Server) OneHubID(userID int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presenceIDLocked(userID)
}

func (s *Server) presenceIDLocked(userID int) string {
	if s.emptyUserID[userID] {
		return oneHubUserID(userID)
	}
	return userIDOf(userID)
}

// Ids are derived from the REST id, shaped like the UUIDs a PBX hands out and unlike the REST
// id, so that a client mixing them up gets nothing back.
func userIDOf(restID int) string     { return uuidOf("user_id:" + strconv.Itoa(restID)) }
func oneHubUserID(restID int) string { return uuidOf("one_hub_user_id:" + strconv.Itoa(restID)) }

func uuidOf(seed string) string {
	h := sha256.Sum256([]byte(seed))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// restIDLocked resolves a user_id or one_hub_user_id to the REST id, rebuilding the index
// from the REST double's users when the id is new.
func (s *Server) restIDLocked(oneHubID string) (int, bool) {
	if id, ok := s.byOneHubID[oneHubID]; ok {
		return id, true
	}
	clear(s.byOneHubID)
	for _, p := range s.rest.Presences() {
		s.byOneHubID[userIDOf(p.UserID)] = p.UserID
		s.byOneHubID[oneHubUserID(p.UserID)] = p.UserID
	}
	id, ok := s.byOneHubID[oneHubID]
	return id, ok
}

// Calls returns a copy of the call log.
func (s *Server) Calls() []Call { return s.calls.All() }

// ResetCalls empties the call log.
func (s *Server) ResetCalls() { s.calls.Reset() }

// CountCalls counts logged calls to method (short name or full path; "" = any).
func (s *Server) CountCalls(method string) int {
	return s.calls.Count(func(c Call) bool { return methodMatches(method, c.Method) })
}

func methodMatches(want, full string) bool {
	return want == "" || want == full || strings.HasSuffix(full, "/"+want)
}

// Subscriptions lists the REST ids currently subscribed, in order.
func (s *Server) Subscriptions() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, 0, len(s.subscribed))
	for id := range s.subscribed {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

// Streams is the number of event streams open now.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// WaitStreams waits until at least n event streams are open (a client has (re)connected), or
// ctx ends.
func (s *Server) WaitStreams(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		have, chg := len(s.streams), s.streamsChg
		s.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-chg:
		case <-ctx.Done():
			return fmt.Errorf("onehubtest: %d event streams open, waited for %d: %w", have, n, ctx.Err())
		}
	}
}

// DropStreams ends every open event stream with UNAVAILABLE, as a network break or a PBX
// restart would. Subscriptions stay.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.dropOnce.Do(func() { close(st.drop) })
	}
}

// SetDown makes the server unreachable (true): open connections are cut and new ones closed
// right after they are accepted, so clients see UNAVAILABLE. false brings it back.
func (s *Server) SetDown(down bool) { s.lis.setDown(down) }

func selfSigned() (*x509.Certificate, tls.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("onehubtest: " + err.Error())
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "onehubtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("onehubtest: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("onehubtest: " + err.Error())
	}
	return cert, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
}

// gateListener hands out connections while the server is up and cuts them when it goes down.
type gateListener struct {
	net.Listener
	mu    sync.Mutex
	down  bool
	conns map[*trackedConn]bool
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.down {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = true
		l.mu.Unlock()
		return tc, nil
	}
}

func (l *gateListener) setDown(down bool) {
	l.mu.Lock()
	l.down = down
	var cut []*trackedConn
	if down {
		for c := range l.conns {
			cut = append(cut, c)
		}
	}
	l.mu.Unlock()
	for _, c := range cut {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *gateListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// metadata and checks every call goes through

func bearerToken(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if scheme, tok, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") && tok != "" {
			return tok, true
		}
	}
	return "", false
}

func (s *Server) checkToken(ctx context.Context) error {
	tok, ok := bearerToken(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "missing bearer token in authorization metadata")
	}
	var err error
	if s.opts.CheckToken != nil {
		err = s.opts.CheckToken(tok)
	} else {
		s.mu.Lock()
		valid, known := s.tokens[tok]
		s.mu.Unlock()
		switch {
		case !known:
			err = ErrTokenInvalid
		case !valid:
			err = ErrTokenExpired
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTokenExpired):
		return status.Error(codes.Unauthenticated, ErrTokenExpired.Error())
	default:
		return status.Error(codes.Unauthenticated, ErrTokenInvalid.Error())
	}
}

// fault applies the first matching fault: it waits its delay and returns its status, if any.
func (s *Server) fault(ctx context.Context, method string) error {
	f, ok := doubles.Take(&s.faults, func(f Fault) bool { return methodMatches(f.Method, method) },
		func(f Fault) int { return f.Times })
	if !ok {
		return nil
	}
	if f.Delay > 0 {
		if err := ctxtime.Sleep(ctx, f.Delay); err != nil {
			return status.FromContextError(err).Err()
		}
	}
	if f.Code == codes.OK {
		return nil
	}
	msg := f.Msg
	if msg == "" {
		msg = "injected fault"
	}
	return status.Error(f.Code, msg)
}

// record logs a call when it arrives, so that a test sees it even while it is still held by a
// delay; done fills in the answer.
func (s *Server) record(ctx context.Context, method string, ids int) (done func(error)) {
	tok, _ := bearerToken(ctx)
	update := s.calls.Add(Call{Method: method, IDs: ids, Token: tok, Code: codes.Unknown})
	return func(err error) {
		update(func(c *Call) { c.Code = status.Code(err) })
	}
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	done := s.record(ctx, info.FullMethod, countIDs(req))
	res, err := func() (any, error) {
		if err := s.fault(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		if err := s.checkToken(ctx); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}()
	done(err)
	return res, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx := ss.Context()
	done := s.record(ctx, info.FullMethod, 0)
	err := s.fault(ctx, info.FullMethod)
	if err == nil {
		err = s.checkToken(ctx)
	}
	done(err)
	if err != nil {
		return err
	}
	return h(srv, ss)
}

func countIDs(req any) int {
	switch r := req.(type) {
	case *useridlookuppb.BatchGetUserIdentifiersRequest:
		return len(r.GetUserIdentifiers())
	case *presencepb.SubscribePresenceStatesRequest:
		return len(r.GetUserIdList().GetUserIds()) + len(r.GetGroupIdList().GetGroupIds())
	case *presencepb.UnsubscribePresenceStatesRequest:
		return len(r.GetUserIdList().GetUserIds()) + len(r.GetGroupIdList().GetGroupIds())
	}
	return 0
}
