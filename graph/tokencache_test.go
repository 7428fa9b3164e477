package graph

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/internal/testtls"
)

// secretsSeen collects every credential that crossed the wire to the double, and the tokens cached.
func secretsSeen(t *testing.T, s *graphtest.Server, cacheDir string) []string {
	t.Helper()
	var out []string
	for _, r := range s.Requests() {
		form, _ := url.ParseQuery(string(r.Body))
		for _, k := range []string{"client_secret", "client_assertion", "device_code", "refresh_token"} {
			if v := form.Get(k); v != "" {
				out = append(out, v)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(cacheDir, tokenCacheFile)); err == nil {
		f := readCache(t, cacheDir)
		out = append(out, f.AccessToken, f.RefreshToken)
	}
	return out
}

func TestNoSecretsInLogsOrErrors(t *testing.T) {
	// In a synctest bubble, every double in memory: the device flow waits Entra's poll interval
	// and the tokens run out on the bubble's clock.
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.Level(-8)}))
		var secrets, errs []string
		addErr := func(err error) {
			if err != nil {
				errs = append(errs, err.Error())
			}
		}

		// Client secret: sign in, Graph refuses the token, sign in again, then a wrong secret.
		s, cfg := secretSetup(t)
		cfg.HTTPClient = testtls.InMemory(t, s.Server)
		cfg.Logger = logger
		ts := mustSource(t, cfg)
		tok1 := mustToken(t, ts)
		ts.Invalidate(tok1)
		tok2 := mustToken(t, ts)
		wrong := cfg
		wrong.ClientSecret = "wrong-Secret-Value~1234567890"
		wrong.CacheDir = t.TempDir()
		_, err := mustSource(t, wrong).Token(context.Background())
		addErr(err)
		secrets = append(secrets, testSecret, wrong.ClientSecret, tok1, tok2)
		secrets = append(secrets, secretsSeen(t, s, cfg.CacheDir)...)

		// Certificate: the signed assertion is a credential too.
		path, cert := writeTestCertificate(t, 0o600)
		cs := newEntra(t)
		cs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClient, Certificate: cert, Roles: []string{"User.Read.All"}})
		ccfg := testConfig(t, cs, ModeClientCertificate)
		ccfg.HTTPClient = testtls.InMemory(t, cs.Server)
		ccfg.Logger = logger
		ccfg.Certificates, ccfg.PrivateKey, err = LoadCertificate(path)
		if err != nil {
			t.Fatal(err)
		}
		mustToken(t, mustSource(t, ccfg))
		secrets = append(secrets, secretsSeen(t, cs, ccfg.CacheDir)...)

		// Device code: login, a refresh, then a revoked refresh token.
		ds, dcfg := deviceSetup(t, graphtest.App{PublicClient: true})
		dcfg.Logger = logger
		login(t, ds, dcfg)
		secrets = append(secrets, secretsSeen(t, ds, dcfg.CacheDir)...)
		time.Sleep(56 * time.Minute)
		mustToken(t, mustSource(t, dcfg))
		secrets = append(secrets, secretsSeen(t, ds, dcfg.CacheDir)...)
		ds.RevokeRefreshTokens()
		time.Sleep(56 * time.Minute)
		_, err = mustSource(t, dcfg).Token(context.Background())
		addErr(err)

		if len(errs) != 2 {
			t.Fatalf("expected two failures to inspect, got %v", errs)
		}
		for _, want := range []string{"signed in", "renewed sign-in", "dropped the access token"} {
			if !strings.Contains(logs.String(), want) {
				t.Fatalf("logs lack %q; the test would not see a leak:\n%s", want, logs.String())
			}
		}
		kinds := 0
		for _, sec := range secrets {
			if len(sec) < 8 {
				continue
			}
			kinds++
			if strings.Contains(logs.String(), sec) {
				t.Errorf("logs contain a secret (%.6s…)", sec)
			}
			for _, e := range errs {
				if strings.Contains(e, sec) {
					t.Errorf("error %q contains a secret (%.6s…)", e, sec)
				}
			}
		}
		if kinds < 8 {
			t.Fatalf("only %d secrets collected; the request log did not show the credentials", kinds)
		}
	})
}
