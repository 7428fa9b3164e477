package starface_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

const (
	adminPW      = "Adm1n-Pässwort!"
	alicePW      = "alice-pw-1234"
	clientSecret = "rEaLm-cl13nt-s3cret"
)

// newServer starts a double with an administrator (id 1, login 0001), Alice (17, 0003) and
// Bob (18, 0004), and two groups.
func newServer(t *testing.T) *starfacetest.Server {
	t.Helper()
	s := starfacetest.NewServer()
	t.Cleanup(s.Close)
	s.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: adminPW, Admin: true,
		Email: "admin@example.com", FirstName: "Pbx", FamilyName: "Admin",
		Phone: starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 11, PrimaryPhoneID: 21}})
	s.AddUser(starfacetest.User{ID: 17, Login: "0003", Password: alicePW,
		Email: "alice@example.com", FirstName: "Alice", FamilyName: "Doe",
		Phone: starface.PhoneConfig{CallWaiting: false, DisplayNumberID: 12, PrimaryPhoneID: 22}})
	s.AddUser(starfacetest.User{ID: 18, Login: "0004", Password: "bob-pw",
		Email: "bob@example.com", FirstName: "Bob", FamilyName: "Roe",
		Phone: starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 13, DoNotDisturb: true, PrimaryPhoneID: 23}})
	s.AddGroup(5, "Support", 17)
	s.AddGroup(6, "Sales", 1, 18)
	return s
}

// newClient logs in as the administrator through the double's trusted HTTP client unless
// mod changes the options.
func newClient(t *testing.T, s *starfacetest.Server, mod func(*starface.Options)) *starface.Client {
	t.Helper()
	o := starface.Options{
		URL: s.URL, Login: "0001", Password: adminPW, HTTPClient: s.Client(),
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
	if mod != nil {
		mod(&o)
	}
	c, err := starface.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// switchDND is how the pass switches a user's DND: read the phone config, change doNotDisturb,
// put the whole config back.
func switchDND(ctx context.Context, c *starface.Client, userID int, on bool) error {
	pc, err := c.PhoneConfig(ctx, userID)
	if err != nil {
		return err
	}
	pc.DoNotDisturb = on
	return c.PutPhoneConfig(ctx, userID, pc)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func debugLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newRawRequest(method, url, token string) (*http.Request, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Version", "2")
	req.Header.Set("authToken", token)
	return req, nil
}

// gate holds requests with one method and path at the client's side until released, so that
// tests can line up concurrent callers without sleeping. arrived receives once per held request.
type gate struct {
	base         http.RoundTripper // where released requests go: the double's own client by default
	method, path string
	arrived      chan struct{}
	open         chan struct{}
	once         sync.Once
}

func newGate(s *starfacetest.Server, method, path string) *gate {
	return &gate{base: s.Client().Transport, method: method, path: path, arrived: make(chan struct{}, 16), open: make(chan struct{})}
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func (g *gate) client() *http.Client {
	return &http.Client{Transport: g}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == g.method && r.URL.Path == g.path {
		g.arrived <- struct{}{}
		select {
		case <-g.open:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return g.base.RoundTrip(r)
}
