package graph

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
)

// sleepRecorder replaces the poll wait: it records what the flow would have waited and yields
// for a millisecond so the "user" goroutine gets to act.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	select {
	case <-time.After(time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *sleepRecorder) Waits() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

func deviceSetup(t *testing.T, app graphtest.App) (*graphtest.Server, AuthConfig, *fakeClock, *sleepRecorder) {
	t.Helper()
	s := newEntra(t)
	clock := newFakeClock()
	s.SetClock(clock.Now)
	app.Tenant, app.ClientID = testTenant, testClient
	if app.Scopes == nil {
		app.Scopes = []string{"Presence.Read.All", "User.Read.All"}
	}
	s.RegisterApp(app)
	cfg := testConfig(t, s, ModeDeviceCode)
	cfg.Now = clock.Now
	rec := &sleepRecorder{}
	cfg.Sleep = rec.sleep
	return s, cfg, clock, rec
}

// actOnDeviceCode plays the user: once a code is waiting, it does act with it.
func actOnDeviceCode(ctx context.Context, t *testing.T, s *graphtest.Server, act func(code string) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if codes := s.PendingDeviceCodes(); len(codes) > 0 {
				done <- act(codes[0])
				return
			}
			time.Sleep(time.Millisecond)
		}
		done <- ctx.Err()
	}()
	return done
}

func TestDeviceLogin(t *testing.T) {
	tests := []struct {
		name      string
		app       graphtest.App
		slowDown  int
		act       func(s *graphtest.Server) func(string) error
		wantErr   string // "" = success; else in the *AuthError's message
		wantWaits []time.Duration
	}{
		{
			name: "approved",
			app:  graphtest.App{PublicClient: true},
			act:  func(s *graphtest.Server) func(string) error { return s.ApproveDevice },
		},
		{
			name:      "slow_down honoured",
			app:       graphtest.App{PublicClient: true},
			slowDown:  2,
			act:       func(s *graphtest.Server) func(string) error { return s.ApproveDevice },
			wantWaits: []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second},
		},
		{
			name:    "declined",
			app:     graphtest.App{PublicClient: true},
			act:     func(s *graphtest.Server) func(string) error { return s.DeclineDevice },
			wantErr: "declined",
		},
		{
			name: "expired",
			app:  graphtest.App{PublicClient: true},
			act: func(s *graphtest.Server) func(string) error {
				return func(string) error { s.ExpireDeviceCodes(); return nil }
			},
			wantErr: "code expired",
		},
		{
			name:    "public client flows off",
			app:     graphtest.App{PublicClient: false},
			act:     func(s *graphtest.Server) func(string) error { return func(string) error { return nil } },
			wantErr: "Allow public client flows",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, cfg, _, rec := deviceSetup(t, tt.app)
			s.SlowDownNext(tt.slowDown)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			user := actOnDeviceCode(ctx, t, s, tt.act(s))

			var prompt bytes.Buffer
			err := DeviceLogin(ctx, cfg, &prompt)
			if uerr := <-user; uerr != nil {
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
			waits := rec.Waits()
			for i, want := range tt.wantWaits {
				if i >= len(waits) || waits[i] != want {
					t.Fatalf("waits = %v, want them to start with %v", waits, tt.wantWaits)
				}
			}
			if len(tt.wantWaits) == 0 && waits[0] != 5*time.Second {
				t.Errorf("first wait = %v, want Entra's interval 5s", waits[0])
			}
			// A later run uses the cached token without asking Entra.
			before := s.TokenRequests()
			if got := mustToken(t, mustSource(t, cfg)); got != f.AccessToken || s.TokenRequests() != before {
				t.Errorf("later run did not use the cached access token")
			}
		})
	}
}

func TestDeviceLoginPromptShowsUserCode(t *testing.T) {
	s, cfg, _, _ := deviceSetup(t, graphtest.App{PublicClient: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var code string
	user := actOnDeviceCode(ctx, t, s, func(c string) error { code = c; return s.ApproveDevice(c) })
	var prompt bytes.Buffer
	if err := DeviceLogin(ctx, cfg, &prompt); err != nil {
		t.Fatal(err)
	}
	<-user
	if !strings.Contains(prompt.String(), "enter the code "+code) {
		t.Errorf("prompt %q lacks user code %s", prompt.String(), code)
	}
}

func TestDeviceLoginRefusedForClientCredentials(t *testing.T) {
	_, cfg, _ := secretSetup(t)
	err := DeviceLogin(context.Background(), cfg, &bytes.Buffer{})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ConfigError", err)
	}
}

// login signs in through the device flow with an immediate approval.
func login(t *testing.T, s *graphtest.Server, cfg AuthConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	user := actOnDeviceCode(ctx, t, s, s.ApproveDevice)
	if err := DeviceLogin(ctx, cfg, &bytes.Buffer{}); err != nil {
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
	s, cfg, clock, _ := deviceSetup(t, graphtest.App{PublicClient: true})
	login(t, s, cfg)
	rt1 := readCache(t, cfg.CacheDir).RefreshToken
	at1 := readCache(t, cfg.CacheDir).AccessToken

	clock.Advance(56 * time.Minute)
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
	clock.Advance(56 * time.Minute)
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
}

func TestInvalidateKeepsRefreshToken(t *testing.T) {
	s, cfg, _, _ := deviceSetup(t, graphtest.App{PublicClient: true})
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
			s, cfg, clock, _ := deviceSetup(t, graphtest.App{PublicClient: true})
			tt.setup(t, s, cfg)
			clock.Advance(2 * time.Hour)
			_, err := mustSource(t, cfg).Token(context.Background())
			var ae *AuthError
			if !errors.As(err, &ae) || !strings.Contains(err.Error(), "run `teamsface login`") {
				t.Fatalf("err = %v, want *AuthError telling to run `teamsface login`", err)
			}
		})
	}
}

// Presence.ReadWrite.All has no delegated form: Entra refuses it in a device-code sign-in and on
// refresh (AADSTS650053), and the error says what would work instead of a misleading fix.
func TestApplicationOnlyScopeRefused(t *testing.T) {
	s, cfg, clock, _ := deviceSetup(t, graphtest.App{PublicClient: true})
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
	clock.Advance(2 * time.Hour)
	_, err = mustSource(t, withAppOnly).Token(context.Background())
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "AADSTS650053") || !strings.Contains(err.Error(), "client-certificate") {
		t.Fatalf("refresh: %v, want an *AuthError naming AADSTS650053 and the auth modes that work", err)
	}
}
