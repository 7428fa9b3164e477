package graph

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/internal/testtls"
)

// deviceSetup registers app with a new Entra double and returns a device-code configuration for
// it. Call it in a testing/synctest bubble: the double serves in memory, and Entra's poll
// interval, the code's and the tokens' lifetimes pass on the bubble's clock.
func deviceSetup(t *testing.T, app graphtest.App) (*graphtest.Server, AuthConfig) {
	t.Helper()
	s := newEntra(t)
	app.Tenant, app.ClientID = testTenant, testClient
	if app.Scopes == nil {
		app.Scopes = []string{"Presence.Read.All", "User.Read.All"}
	}
	s.RegisterApp(app)
	cfg := testConfig(t, s, ModeDeviceCode)
	cfg.HTTPClient = testtls.InMemory(t, s.Server)
	return s, cfg
}

// browser is the prompt DeviceLogin writes to, as the person at the browser reads it.
type browser struct {
	code chan string // the code shown, once

	mu     sync.Mutex
	prompt strings.Builder
}

func (b *browser) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.prompt.Write(p)
	if _, rest, ok := strings.Cut(string(p), "enter the code "); ok {
		code, _, _ := strings.Cut(rest, " ")
		b.code <- code
	}
	return len(p), nil
}

func (b *browser) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.prompt.String()
}

// userActs plays the person: they read the code off the prompt, take their time (after) and
// act on it at the verification page. done gets act's error, or ctx's when ctx ends before a
// code is shown.
func userActs(ctx context.Context, after time.Duration, act func(code string) error) (prompt *browser, done <-chan error) {
	b := &browser{code: make(chan string, 1)}
	errc := make(chan error, 1)
	go func() {
		select {
		case code := <-b.code:
			time.Sleep(after)
			errc <- act(code)
		case <-ctx.Done():
			errc <- ctx.Err()
		}
	}()
	return b, errc
}

func TestDeviceLogin(t *testing.T) {
	tests := []struct {
		name     string
		app      graphtest.App
		slowDown int
		after    time.Duration // the user acts this long after the prompt
		act      func(s *graphtest.Server) func(string) error
		wantErr  string        // "" = success; else in the *AuthError's message
		wantAt   time.Duration // when DeviceLogin returns: polls come every 5s (Entra's interval)
	}{
		{
			name:   "approved at once: signed in at the first poll",
			app:    graphtest.App{PublicClient: true},
			act:    func(s *graphtest.Server) func(string) error { return s.ApproveDevice },
			wantAt: 5 * time.Second,
		},
		{
			name:   "approved after 12s: signed in at the third poll",
			app:    graphtest.App{PublicClient: true},
			after:  12 * time.Second,
			act:    func(s *graphtest.Server) func(string) error { return s.ApproveDevice },
			wantAt: 15 * time.Second,
		},
		{
			name:     "slow_down honoured: 5s more between polls each time",
			app:      graphtest.App{PublicClient: true},
			slowDown: 2,
			act:      func(s *graphtest.Server) func(string) error { return s.ApproveDevice },
			wantAt:   (5 + 10 + 15) * time.Second,
		},
		{
			name:    "declined",
			app:     graphtest.App{PublicClient: true},
			act:     func(s *graphtest.Server) func(string) error { return s.DeclineDevice },
			wantErr: "declined",
			wantAt:  5 * time.Second,
		},
		{
			name: "expired",
			app:  graphtest.App{PublicClient: true},
			act: func(s *graphtest.Server) func(string) error {
				return func(string) error { s.ExpireDeviceCodes(); return nil }
			},
			wantErr: "code expired",
			wantAt:  5 * time.Second,
		},
		{
			name:    "never acted on: the code runs out after Entra's 15 minutes",
			app:     graphtest.App{PublicClient: true},
			act:     func(s *graphtest.Server) func(string) error { return func(string) error { return nil } },
			wantErr: "code expired",
			wantAt:  15 * time.Minute,
		},
		{
			name:    "public client flows off",
			app:     graphtest.App{PublicClient: false},
			act:     func(s *graphtest.Server) func(string) error { return func(string) error { return nil } },
			wantErr: "Allow public client flows",
			wantAt:  5 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, cfg := deviceSetup(t, tt.app)
				s.SlowDownNext(tt.slowDown)
				ctx, cancel := context.WithCancel(t.Context())
				prompt, user := userActs(ctx, tt.after, tt.act(s))

				start := time.Now()
				err := DeviceLogin(ctx, cfg, prompt)
				if at := time.Since(start); at != tt.wantAt {
					t.Errorf("DeviceLogin returned after %v, want %v", at, tt.wantAt)
				}
				cancel()
				if uerr := <-user; uerr != nil && !errors.Is(uerr, context.Canceled) {
					t.Fatalf("user action: %v", uerr)
				}
				if !strings.Contains(prompt.String(), "https://microsoft.com/devicelogin") {
					t.Errorf("prompt %q lacks the verification URL", prompt.String())
				}
				if tt.wantErr != "" {
					var ae *AuthError
					if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err = %v, want *AuthError containing %q", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("DeviceLogin: %v", err)
				}
				f := readCache(t, cfg.CacheDir)
				if f.AccessToken == "" || f.RefreshToken == "" {
					t.Fatalf("cache lacks access or refresh token")
				}
				if perms, delegated, _ := TokenPermissions(f.AccessToken); !delegated || len(perms) != 2 {
					t.Errorf("token permissions = %v delegated=%v", perms, delegated)
				}
				// A later run uses the cached token without asking Entra.
				before := s.TokenRequests()
				if got := mustToken(t, mustSource(t, cfg)); got != f.AccessToken || s.TokenRequests() != before {
					t.Errorf("later run did not use the cached access token")
				}
			})
		})
	}
}

func TestDeviceLoginPromptShowsUserCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := deviceSetup(t, graphtest.App{PublicClient: true})
		var code string
		prompt, user := userActs(t.Context(), 0, func(c string) error { code = c; return s.ApproveDevice(c) })
		if err := DeviceLogin(t.Context(), cfg, prompt); err != nil {
			t.Fatal(err)
		}
		if err := <-user; err != nil {
			t.Fatal(err)
		}
		// The user approved the code the prompt showed, and that signed the flow in.
		if code == "" || len(s.PendingDeviceCodes()) != 0 {
			t.Errorf("prompt %q: no code shown, or another one pending", prompt.String())
		}
	})
}

func TestDeviceLoginRefusedForClientCredentials(t *testing.T) {
	_, cfg := secretSetup(t)
	err := DeviceLogin(context.Background(), cfg, &bytes.Buffer{})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ConfigError", err)
	}
}

// login signs in through the device flow with an immediate approval (in a synctest bubble, as
// deviceSetup).
func login(t *testing.T, s *graphtest.Server, cfg AuthConfig) {
	t.Helper()
	prompt, user := userActs(t.Context(), 0, s.ApproveDevice)
	if err := DeviceLogin(t.Context(), cfg, prompt); err != nil {
		t.Fatalf("DeviceLogin: %v", err)
	}
	if err := <-user; err != nil {
		t.Fatal(err)
	}
}

// lastRefreshToken returns the refresh_token sent in the last refresh request.
func lastRefreshToken(s *graphtest.Server) string {
	rt := ""
	for _, r := range s.Requests() {
		form, _ := url.ParseQuery(string(r.Body))
		if form.Get("grant_type") == "refresh_token" {
			rt = form.Get("refresh_token")
		}
	}
	return rt
}

func TestRefreshRotatesAndPersists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := deviceSetup(t, graphtest.App{PublicClient: true})
		login(t, s, cfg)
		rt1 := readCache(t, cfg.CacheDir).RefreshToken
		at1 := readCache(t, cfg.CacheDir).AccessToken

		time.Sleep(56 * time.Minute)
		at2 := mustToken(t, mustSource(t, cfg))
		if at2 == at1 {
			t.Fatal("no refresh near expiry")
		}
		if sent := lastRefreshToken(s); sent != rt1 {
			t.Errorf("first refresh sent %q, want the login's refresh token", sent)
		}
		rt2 := readCache(t, cfg.CacheDir).RefreshToken
		if rt2 == "" || rt2 == rt1 {
			t.Fatalf("rotated refresh token not persisted")
		}

		// Next run, next expiry: the rotated token must be the one used (the double refuses the old).
		time.Sleep(56 * time.Minute)
		at3 := mustToken(t, mustSource(t, cfg))
		if at3 == at2 {
			t.Fatal("no second refresh")
		}
		if sent := lastRefreshToken(s); sent != rt2 {
			t.Errorf("second refresh sent %q, want the rotated one", sent)
		}
		if got := readCache(t, cfg.CacheDir); got.AccessToken != at3 || got.RefreshToken == rt2 {
			t.Errorf("cache after second refresh not updated")
		}
	})
}

func TestInvalidateKeepsRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := deviceSetup(t, graphtest.App{PublicClient: true})
		login(t, s, cfg)
		ts := mustSource(t, cfg)
		at1 := mustToken(t, ts)
		ts.Invalidate(at1)
		if f := readCache(t, cfg.CacheDir); f.AccessToken != "" || f.RefreshToken == "" {
			t.Fatalf("after Invalidate: access %q, refresh present %v", f.AccessToken, f.RefreshToken != "")
		}
		if at2 := mustToken(t, ts); at2 == at1 || lastRefreshToken(s) == "" {
			t.Errorf("Token after Invalidate did not refresh")
		}
	})
}

func TestRefreshFailuresNeedLogin(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *graphtest.Server, cfg AuthConfig)
	}{
		{name: "never signed in", setup: func(*testing.T, *graphtest.Server, AuthConfig) {}},
		{name: "refresh token revoked", setup: func(t *testing.T, s *graphtest.Server, cfg AuthConfig) {
			login(t, s, cfg)
			s.RevokeRefreshTokens()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, cfg := deviceSetup(t, graphtest.App{PublicClient: true})
				tt.setup(t, s, cfg)
				time.Sleep(2 * time.Hour)
				_, err := mustSource(t, cfg).Token(context.Background())
				var ae *AuthError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), "run `teamsface login`") {
					t.Fatalf("err = %v, want *AuthError telling to run `teamsface login`", err)
				}
			})
		})
	}
}

// Presence.ReadWrite.All has no delegated form: Entra refuses it in a device-code sign-in and on
// refresh (AADSTS650053), and the error says what would work instead of a misleading fix.
func TestApplicationOnlyScopeRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, cfg := deviceSetup(t, graphtest.App{PublicClient: true})
		withAppOnly := cfg
		withAppOnly.Scopes = []string{"Presence.ReadWrite.All"}

		err := DeviceLogin(context.Background(), withAppOnly, &bytes.Buffer{})
		var ae *AuthError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "AADSTS650053") ||
			!strings.Contains(err.Error(), "use auth client-secret or client-certificate") || strings.Contains(err.Error(), "public client") {
			t.Fatalf("device login: %v, want an *AuthError naming AADSTS650053 and the auth modes that work", err)
		}

		// Signed in without it, then the permission is added to the configuration: the refresh
		// asking for it is refused the same way.
		login(t, s, cfg)
		time.Sleep(2 * time.Hour)
		_, err = mustSource(t, withAppOnly).Token(context.Background())
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "AADSTS650053") || !strings.Contains(err.Error(), "client-certificate") {
			t.Fatalf("refresh: %v, want an *AuthError naming AADSTS650053 and the auth modes that work", err)
		}
	})
}
