package onehub_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// tokens plays the STARFACE OAuth client: it hands out one token from the double until that is
// invalidated, and remembers every token it handed out (to look for them in logs).
type tokens struct {
	srv *onehubtest.Server

	mu          sync.Mutex
	cur         string
	issued      []string
	invalidated []string
}

func (tk *tokens) AccessToken(context.Context) (string, error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	if tk.cur == "" {
		tk.cur = tk.srv.IssueToken()
		tk.issued = append(tk.issued, tk.cur)
	}
	return tk.cur, nil
}

func (tk *tokens) InvalidateAccessToken(tok string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.invalidated = append(tk.invalidated, tok)
	if tok == tk.cur {
		tk.cur = ""
	}
}

func (tk *tokens) all() (issued, invalidated []string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return append([]string(nil), tk.issued...), append([]string(nil), tk.invalidated...)
}

type fixture struct {
	rest     *starfacetest.Server
	oh       *onehubtest.Server
	tk       *tokens
	inMemory bool // oh serves in memory: clients dial it with its Dial
}

// newFixture starts both doubles with users 1..n (REST ids); every third has DND on.
func newFixture(t testing.TB, n int, o onehubtest.Options) *fixture {
	rest := newREST(t, n)
	oh := onehubtest.NewServer(rest, o)
	t.Cleanup(oh.Close)
	return &fixture{rest: rest, oh: oh, tk: &tokens{srv: oh}}
}

func newREST(t testing.TB, n int) *starfacetest.Server {
	rest := starfacetest.NewServer()
	t.Cleanup(rest.Close)
	for i := 1; i <= n; i++ {
		rest.AddUser(starfacetest.User{ID: i, Login: login(i), Password: "pw"})
		if i%3 == 0 {
			rest.SetDND(i, true)
		}
	}
	return rest
}

// inBubble runs test in a testing/synctest bubble, whose clock moves only when every goroutine
// in it waits, with the doubles of newFixture; the OneHub double serves in memory, since a
// goroutine reading a socket is not durably blocked and would hold the clock. The REST double
// stays outside the bubble for the same reason (its loopback listener): the test changes users
// through its methods only, never over its HTTP API, whose handlers would reach into the bubble
// from outside.
func inBubble(t *testing.T, n int, test func(t *testing.T, f *fixture)) {
	rest := newREST(t, n)
	synctest.Test(t, func(t *testing.T) {
		oh := onehubtest.NewServer(rest, onehubtest.Options{InMemory: true})
		t.Cleanup(oh.Close)
		test(t, &fixture{rest: rest, oh: oh, tk: &tokens{srv: oh}, inMemory: true})
	})
}

func login(i int) string { return fmt.Sprintf("%04d", i) }

// dial connects a client trusting the double's certificate; mod changes the options.
func (f *fixture) dial(t testing.TB, mod func(*onehub.Options)) *onehub.Client {
	t.Helper()
	o := onehub.Options{Target: f.oh.Target(), TLSConfig: f.oh.ClientTLSConfig(), Tokens: f.tk}
	if f.inMemory {
		o.Dial = f.oh.Dial
	}
	if mod != nil {
		mod(&o)
	}
	c, err := onehub.Dial(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// accountIDs are the REST ids 1..n as LookupIDs takes them.
func accountIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i + 1)
	}
	return out
}

// lookupAll maps users 1..n and returns their OneHub ids in order.
func lookupAll(t testing.TB, c *onehub.Client, n int) []string {
	t.Helper()
	m, err := c.LookupIDs(context.Background(), accountIDs(n))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = m[strconv.Itoa(i+1)]
		if ids[i] == "" {
			t.Fatalf("no OneHub id for user %d", i+1)
		}
	}
	return ids
}

// ctxT is a test context with a deadline, so that a missing event fails the test instead of
// hanging it.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// captureLog is a trace-level logger writing into a buffer.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func traceLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.Level(-100)})), buf
}
