package starface_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/internal/testtls"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

func TestSecretVector(t *testing.T) {
	// From STARFACE's knowledge base ("REST - Schnittstelle"), see starface.md.
	const want = "0001:5e9c7778287782c26d32e0d754b491efde1c5618037e64e46802f91b8ab14959f64e34d7f93f2a25ec71bbbc69638d71bea82f3b81e9edb0e0cc66f60ef64f04"
	if got := starface.Secret("0001", "pds24hmip1ctbogn1l8ujvs5u4", "foobar"); got != want {
		t.Errorf("Secret = %s, want %s", got, want)
	}
	if got, want := starface.ADSecret("0001", "abc", "pw"), "MDAwMWFiY3B3"; got != want {
		t.Errorf("ADSecret = %s, want %s", got, want)
	}
}

func TestLoginTypes(t *testing.T) {
	for _, lt := range []string{"Internal", "ActiveDirectory"} {
		t.Run(lt, func(t *testing.T) {
			s := newServer(t)
			s.SetLoginType(lt)
			c := newClient(t, s, nil)
			if _, err := c.Users(context.Background()); err != nil {
				t.Fatalf("Users: %v", err)
			}
			var body map[string]any
			for _, r := range s.Requests() {
				if r.Method == http.MethodPost && r.Path == "/rest/login" {
					_ = json.Unmarshal(r.Body, &body)
				}
			}
			if body["loginType"] != lt {
				t.Errorf("loginType sent = %v, want %s", body["loginType"], lt)
			}
			if s.Logins() != 1 {
				t.Errorf("logins = %d, want 1", s.Logins())
			}
		})
	}
}

func TestBadCredentials(t *testing.T) {
	tests := []struct {
		name     string
		password string
		fault    int // status injected on POST /rest/login, 0: the double decides
		status   int
	}{
		{"wrong password answered 400", "wrong-" + adminPW, 0, 400},
		{"401 from other releases", adminPW, 401, 401},
		{"403 from other releases", adminPW, 403, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			if tt.fault != 0 {
				s.AddFault(starfacetest.Fault{Method: "POST", Path: "/rest/login", Status: tt.fault})
			}
			var logs syncBuffer
			c := newClient(t, s, func(o *starface.Options) { o.Password = tt.password; o.Logger = debugLogger(&logs) })
			_, err := c.Users(context.Background())
			var ae *starface.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *AuthError", err, err)
			}
			var se *starface.Error
			if !errors.As(err, &se) || se.Status != tt.status {
				t.Errorf("wrapped *Error = %+v, want status %d", se, tt.status)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "starface: list users: log in as 0001: credentials rejected") {
				t.Errorf("message = %q", msg)
			}
			for _, secret := range []string{tt.password, adminPW} {
				if strings.Contains(msg, secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("password leaked: %q / %q", msg, logs.String())
				}
			}
			if s.CountRequests("POST", "/rest/login") != 1 {
				t.Errorf("POST /rest/login sent %d times, want 1 (no retry of a rejected login)", s.CountRequests("POST", "/rest/login"))
			}
		})
	}
}

func TestNoPasswordIsAuthError(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, func(o *starface.Options) { o.Password = "" })
	_, err := c.Users(context.Background())
	var ae *starface.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want *AuthError", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent without a password, want 0", n)
	}
}

// A token STARFACE no longer accepts is replaced once and the call repeated.
func TestTokenExpiryRelogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t)
		hc := testtls.InMemory(t, s.Server)
		s.SetTokenTTL(time.Hour) // shorter than the client's reuse limit: the 401 path is taken
		c := newClient(t, s, func(o *starface.Options) { o.HTTPClient = hc })
		ctx := context.Background()
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		pc, err := c.PhoneConfig(ctx, 17)
		if err != nil {
			t.Fatalf("PhoneConfig after expiry: %v", err)
		}
		if pc.DisplayNumberID != 12 {
			t.Errorf("phone config = %v", pc)
		}
		if s.Logins() != 2 {
			t.Errorf("logins = %d, want 2", s.Logins())
		}
		n401 := 0
		for _, r := range s.Requests() {
			if r.Status == http.StatusUnauthorized {
				n401++
			}
		}
		if n401 != 1 {
			t.Errorf("401 answers = %d, want 1", n401)
		}
		if got := c.Stats().Logins; got != 2 {
			t.Errorf("Stats().Logins = %d, want 2", got)
		}
	})
}

// After 3.5 h the client logs in before STARFACE refuses the token.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t)
		hc := testtls.InMemory(t, s.Server)
		c := newClient(t, s, func(o *starface.Options) { o.HTTPClient = hc })
		ctx := context.Background()
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*time.Hour + 20*time.Minute)
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Logins() != 1 {
			t.Fatalf("logins after 3h20 = %d, want 1", s.Logins())
		}
		time.Sleep(15 * time.Minute)
		if _, err := c.Users(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Logins() != 2 || s.CountRequests("", "/rest/users") != 3 {
			t.Errorf("logins = %d, user list requests = %d; want 2 and 3 (no 401 round trip)", s.Logins(), s.CountRequests("", "/rest/users"))
		}
	})
}

// A token that is refused again right after a fresh login is an error, not a loop.
func TestPersistent401(t *testing.T) {
	s := newServer(t)
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users", Status: 401})
	c := newClient(t, s, nil)
	_, err := c.Users(context.Background())
	var se *starface.Error
	if !errors.As(err, &se) || se.Status != 401 {
		t.Fatalf("err = %v, want *Error 401", err)
	}
	if got := err.Error(); got != "starface: list users: 401 Unauthorized: injected fault" {
		t.Errorf("message = %q", got)
	}
	if s.Logins() != 2 || s.CountRequests("GET", "/rest/users") != 2 {
		t.Errorf("logins = %d, GET /rest/users = %d; want 2 and 2", s.Logins(), s.CountRequests("GET", "/rest/users"))
	}
}

func TestTokenCacheAcrossRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t)
		hc := testtls.InMemory(t, s.Server)
		dir := filepath.Join(t.TempDir(), "state") // does not exist yet: the client creates it
		run := func(login, pw string) {
			t.Helper()
			c := newClient(t, s, func(o *starface.Options) {
				o.TokenCacheDir, o.HTTPClient, o.Login, o.Password = dir, hc, login, pw
			})
			if _, err := c.Users(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		run("0001", adminPW)
		run("0001", adminPW)
		if s.Logins() != 1 {
			t.Fatalf("two runs logged in %d times, want 1", s.Logins())
		}
		file := filepath.Join(dir, starface.CacheFileName)
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("cache file mode = %v, want 0600", fi.Mode().Perm())
		}
		if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
			t.Errorf("cache dir mode = %v, want 0700", di.Mode().Perm())
		}

		// Another login on the same PBX does not get the administrator's token.
		run("0003", alicePW)
		if s.Logins() != 2 {
			t.Errorf("logins after a run as 0003 = %d, want 2", s.Logins())
		}
		// Past 3.5 h the cached token is not trusted any more.
		time.Sleep(3*time.Hour + 31*time.Minute)
		run("0001", adminPW)
		if s.Logins() != 3 {
			t.Errorf("logins after 3h31 = %d, want 3", s.Logins())
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("cache dir holds %d entries, want only the cache file (temp files left?)", len(entries))
		}
	})
}

func TestCacheTooOpenIsIgnored(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	c := newClient(t, s, func(o *starface.Options) { o.TokenCacheDir = dir })
	if _, err := c.Users(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, starface.CacheFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, s, func(o *starface.Options) { o.TokenCacheDir = dir })
	if _, err := c2.Users(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Logins() != 2 {
		t.Errorf("logins = %d, want 2: a world-readable token file must not be used", s.Logins())
	}
}

func TestLogout(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	ctx := context.Background()
	c := newClient(t, s, func(o *starface.Options) { o.TokenCacheDir = dir })
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	// A later run logs out with the cached token.
	c2 := newClient(t, s, func(o *starface.Options) { o.TokenCacheDir = dir })
	if err := c2.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, starface.CacheFileName)); !os.IsNotExist(err) {
		t.Errorf("cache file still there: %v", err)
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Method != "DELETE" || last.Path != "/rest/login" || last.Status != 204 || last.Header.Get("authToken") == "" {
		t.Fatalf("last request = %s %s %d", last.Method, last.Path, last.Status)
	}
	// The first client's token is dead on the PBX: its next call needs a new login.
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Logins() != 2 {
		t.Errorf("logins = %d, want 2", s.Logins())
	}
	// Nothing to log out from: no request, no error.
	s.ResetRequests()
	c3 := newClient(t, s, func(o *starface.Options) { o.TokenCacheDir = t.TempDir() })
	if err := c3.Logout(ctx); err != nil || len(s.Requests()) != 0 {
		t.Errorf("Logout without a token: err %v, %d requests", err, len(s.Requests()))
	}
}

// Many goroutines needing a token at once cause one login: the login is held at the PBX until
// all of them have asked for a token.
func TestLoginOnce(t *testing.T) {
	s := newServer(t)
	gate := newGate(s, "POST", "/rest/login")
	c := newClient(t, s, func(o *starface.Options) { o.HTTPClient = gate.client() })
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.PhoneConfig(context.Background(), 17)
			errs <- err
		})
	}
	<-gate.arrived // the first login is at the PBX and stays there until released
	gate.release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.Logins() != 1 || s.CountRequests("GET", "/rest/login") != 1 {
		t.Errorf("logins = %d, nonce requests = %d; want 1 and 1", s.Logins(), s.CountRequests("GET", "/rest/login"))
	}
	if got := s.CountRequests("GET", "/rest/users/17/phoneconfig"); got != n {
		t.Errorf("phone config reads = %d, want %d", got, n)
	}
}

// A caller waiting for another's login gives up when its own context ends; the login goes on
// for the others.
func TestLoginWaiterGivesUp(t *testing.T) {
	s := newServer(t)
	gate := newGate(s, "POST", "/rest/login")
	c := newClient(t, s, func(o *starface.Options) { o.HTTPClient = gate.client() })
	first := make(chan error, 1)
	go func() { _, err := c.Users(context.Background()); first <- err }()
	<-gate.arrived
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Users(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter with a cancelled context: err = %v, want context.Canceled", err)
	}
	gate.release()
	if err := <-first; err != nil {
		t.Fatalf("the login's own caller: %v", err)
	}
	if s.Logins() != 1 {
		t.Errorf("logins = %d, want 1", s.Logins())
	}
}

// When the caller that started the login gives up, the login fails with its context error;
// a waiter whose context is alive then logs in itself instead of failing with someone else's
// cancellation.
func TestLoginStarterGivesUp(t *testing.T) {
	s := newServer(t)
	gate := newGate(s, "POST", "/rest/login")
	c := newClient(t, s, func(o *starface.Options) { o.HTTPClient = gate.client() })
	ctx, cancel := context.WithCancel(context.Background())
	starter := make(chan error, 1)
	go func() { _, err := c.Users(ctx); starter <- err }()
	<-gate.arrived
	waiter := make(chan error, 1)
	go func() { _, err := c.Users(context.Background()); waiter <- err }()
	cancel()
	if err := <-starter; !errors.Is(err, context.Canceled) {
		t.Fatalf("starter: err = %v, want context.Canceled", err)
	}
	<-gate.arrived // the waiter's own login
	gate.release()
	if err := <-waiter; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	if s.Logins() != 1 {
		t.Errorf("logins = %d, want 1", s.Logins())
	}
}
