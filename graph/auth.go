package graph

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/teamsface/teamsface/internal/ctxtime"
)

// Sign-in modes, the values of the configuration key microsoft.auth.
const (
	ModeClientSecret      = "client-secret"
	ModeClientCertificate = "client-certificate"
	ModeDeviceCode        = "device-code"
)

// AuthConfig says how to sign in to Microsoft Entra for Graph.
type AuthConfig struct {
	Cloud    Cloud
	Tenant   string // GUID or domain; "common", "organizations" and "consumers" are refused for client credentials
	ClientID string
	Mode     string // ModeClientSecret, ModeClientCertificate or ModeDeviceCode

	ClientSecret string // client-secret

	Certificates []*x509.Certificate // client-certificate; see LoadCertificate
	PrivateKey   crypto.PrivateKey

	// Scopes are delegated permissions asked for in device-code mode on top of Presence.Read.All,
	// User.Read.All and offline_access: "Presence.ReadWrite" for the STARFACE → Teams direction,
	// "GroupMember.Read.All" for a group filter. Short names get the Graph root prefixed.
	Scopes []string

	CacheDir   string       // token-graph.json lives here (dir 0700, file 0600); "" keeps tokens in memory only
	HTTPClient *http.Client // nil: a default client with a timeout
	Logger     *slog.Logger // nil: discard
	Now        func() time.Time

	// Sleep waits between device-code polls (nil: a timer that returns ctx.Err() early). Tests
	// replace it so that no test waits Entra's poll interval in real seconds.
	Sleep func(ctx context.Context, d time.Duration) error
	// retryDelay overrides azcore's first retry delay for token requests (tests only).
	retryDelay time.Duration
}

// AuthError is a sign-in failure that needs a person: Entra refused the credentials, the app lacks
// consent, or there is no usable cached sign-in. cmd maps it to exit code 4. Network trouble and
// Entra's 5xx answers are ordinary errors (exit 1) because retrying later may fix them.
// Error never contains a secret or a token.
type AuthError struct {
	Op  string // what was being done, e.g. "sign in to contoso.com with client secret"
	Msg string // what went wrong, including Entra's error code and description
	Err error  // the underlying error, e.g. *EntraError
}

func (e *AuthError) Error() string { return "graph: " + e.Op + ": " + e.Msg }
func (e *AuthError) Unwrap() error { return e.Err }

// EntraError is an OAuth error answer from Entra's token or devicecode endpoint.
type EntraError struct {
	Status      int    // HTTP status
	Code        string // OAuth `error`, e.g. invalid_client, invalid_grant
	Description string // first line of `error_description`, e.g. "AADSTS7000215: Invalid client secret provided. ..."
	ErrorCodes  []int  // AADSTS numbers
	TraceID     string
}

func (e *EntraError) Error() string {
	s := e.Code
	if s == "" {
		s = fmt.Sprintf("http %d", e.Status)
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.TraceID != "" {
		s += " (trace id " + e.TraceID + ")"
	}
	return s
}

// transient reports whether Entra itself was in trouble rather than refusing us.
func (e *EntraError) transient() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// CachedTokenSource hands out Graph access tokens, reusing a cached one (in memory and in
// token-graph.json) until five minutes before it expires. It is safe for concurrent use; concurrent
// callers share one sign-in.
type CachedTokenSource struct {
	cfg    AuthConfig
	key    cacheKey
	scopes []string
	log    *slog.Logger

	mu      sync.Mutex
	cur     *tokenFile // last known token, also when CacheDir is ""
	secrets []string   // strings that must never reach an error message
	saveErr error      // why the last token got could not be written to the cache file
}

// The Graph client takes its tokens through TokenSource (client.go).
var _ TokenSource = (*CachedTokenSource)(nil)

// NewTokenSource checks cfg and returns a token source. It does not sign in: the first Token does.
func NewTokenSource(cfg AuthConfig) (*CachedTokenSource, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = ctxtime.Sleep
	}
	t := &CachedTokenSource{
		cfg: cfg,
		key: cacheKey{
			Authority: cfg.Cloud.AuthorityHost,
			Tenant:    strings.ToLower(cfg.Tenant),
			ClientID:  strings.ToLower(cfg.ClientID),
			Mode:      cfg.Mode,
			Graph:     cfg.Cloud.GraphEndpoint,
		},
		log: cfg.Logger,
	}
	if cfg.Mode == ModeDeviceCode {
		t.scopes = delegatedScopes(cfg.Cloud.GraphEndpoint, cfg.Scopes)
	} else {
		t.scopes = []string{cfg.Cloud.GraphEndpoint + "/.default"}
	}
	t.remember(cfg.ClientSecret)
	return t, nil
}

func (cfg *AuthConfig) validate() error {
	bad := func(field, msg string) error { return &ConfigError{Field: field, Msg: msg} }
	if _, err := parseOrigin(cfg.Cloud.AuthorityHost); err != nil {
		return bad("microsoft.authority_host", err.Error())
	}
	if _, err := parseOrigin(cfg.Cloud.GraphEndpoint); err != nil {
		return bad("microsoft.graph_endpoint", err.Error())
	}
	cfg.Cloud.AuthorityHost = strings.TrimSuffix(cfg.Cloud.AuthorityHost, "/")
	cfg.Cloud.GraphEndpoint = strings.TrimSuffix(cfg.Cloud.GraphEndpoint, "/")
	if strings.TrimSpace(cfg.Tenant) == "" {
		return bad("microsoft.tenant", "missing (a tenant id or domain such as contoso.onmicrosoft.com)")
	}
	if strings.ContainsAny(cfg.Tenant, "/?#% ") {
		return bad("microsoft.tenant", fmt.Sprintf("%q is not a tenant id or domain", cfg.Tenant))
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return bad("microsoft.client_id", "missing (the application (client) id of the app registration)")
	}
	switch cfg.Mode {
	case ModeClientSecret, ModeClientCertificate:
		switch strings.ToLower(cfg.Tenant) {
		case "common", "organizations", "consumers":
			// Client credentials act as the app in one directory; Entra has no "any tenant" for them.
			return bad("microsoft.tenant", fmt.Sprintf("%q cannot be used with %s: give the tenant id or domain", cfg.Tenant, cfg.Mode))
		}
		if cfg.Mode == ModeClientSecret && cfg.ClientSecret == "" {
			return bad("microsoft.client_secret_env", "the client secret is empty")
		}
		if cfg.Mode == ModeClientCertificate && (len(cfg.Certificates) == 0 || cfg.PrivateKey == nil) {
			return bad("microsoft.certificate_file", "no certificate and private key loaded")
		}
	case ModeDeviceCode:
	default:
		return bad("microsoft.auth", fmt.Sprintf("unknown sign-in mode %q (valid: %s, %s, %s)", cfg.Mode, ModeClientSecret, ModeClientCertificate, ModeDeviceCode))
	}
	return nil
}

// Token returns an access token for Graph: the cached one while it has more than five minutes left,
// else a new one (client credentials) or a refreshed one (device code).
func (t *CachedTokenSource) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.Now()
	if t.cur != nil && t.fresh(t.cur, now) {
		return t.cur.AccessToken, nil
	}
	// Another process (a login, a concurrent run) may have stored a newer token: read the file
	// again rather than trusting memory.
	if f := t.load(); f != nil {
		t.cur = f
		if t.fresh(f, now) {
			t.log.Debug("graph: using cached access token", "expires_at", f.ExpiresAt)
			return f.AccessToken, nil
		}
	}
	if t.cfg.Mode == ModeDeviceCode {
		return t.refreshLocked(ctx)
	}
	return t.clientCredentialsLocked(ctx)
}

// SignIn gets a new token from Entra with the client credentials, whatever the cache holds,
// and caches it: how `teamsface login` proves that the credentials work now (after a secret
// was rotated, a token cached with the old one proves nothing). With device code it refreshes.
func (t *CachedTokenSource) SignIn(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.Mode == ModeDeviceCode {
		return t.refreshLocked(ctx)
	}
	return t.clientCredentialsLocked(ctx)
}

// Invalidate drops token, which Graph refused with 401, from memory and from the cache file so the
// next Token fetches a new one. A refresh token stays: it is still the way to a new access token.
func (t *CachedTokenSource) Invalidate(token string) {
	if token == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil && t.cur.AccessToken == token {
		t.cur.AccessToken, t.cur.ExpiresAt = "", time.Time{}
	}
	if f := t.load(); f != nil && f.AccessToken == token {
		f.AccessToken, f.ExpiresAt = "", time.Time{}
		if err := writeTokenFile(t.cfg.CacheDir, f); err != nil {
			t.log.Warn("graph: cannot remove refused token from cache", "error", t.redact(err.Error()))
		}
	}
	t.log.Info("graph: dropped the access token Graph refused; the next request signs in again")
}

func (t *CachedTokenSource) fresh(f *tokenFile, now time.Time) bool {
	return f.usable(now) && sameScopes(f.Scopes, t.scopes)
}

func (t *CachedTokenSource) load() *tokenFile {
	if t.cfg.CacheDir == "" {
		return nil
	}
	f := readTokenFile(t.cfg.CacheDir, t.key, t.log)
	if f != nil {
		t.remember(f.AccessToken, f.RefreshToken)
	}
	return f
}

// store keeps f in memory and in the cache file. A failed write is logged, not returned: the token
// in hand still works for this run; the next run signs in again.
func (t *CachedTokenSource) store(f *tokenFile) {
	f.Key = t.key
	t.cur = f
	t.remember(f.AccessToken, f.RefreshToken)
	if t.cfg.CacheDir == "" {
		return
	}
	t.saveErr = writeTokenFile(t.cfg.CacheDir, f)
	if err := t.saveErr; err != nil {
		level := slog.LevelWarn
		if f.RefreshToken != "" {
			level = slog.LevelError // a rotated refresh token that is not saved may be lost for good
		}
		t.log.Log(context.Background(), level, "graph: cannot save token cache", "error", t.redact(err.Error()))
	}
}

// SaveErr says why the token last got from Entra could not be written to the cache file, or nil
// when it was (or there was nothing to write). Token goes on without the cache; `teamsface login`,
// whose job is the cache, reports it.
func (t *CachedTokenSource) SaveErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.saveErr
}

// clientCredentialsLocked signs in as the app through azidentity. A new credential is built for
// each sign-in: its MSAL cache lives in memory and would hand back a token Graph just refused (or
// one our clock says is due), and sign-ins happen about once an hour, so the extra discovery
// request costs nothing.
func (t *CachedTokenSource) clientCredentialsLocked(ctx context.Context) (string, error) {
	op := fmt.Sprintf("sign in to %s with %s", t.cfg.Tenant, t.cfg.Mode)
	cred, err := t.credential()
	if err != nil {
		return "", fmt.Errorf("graph: %s: %s", op, t.redact(err.Error()))
	}
	t.log.Debug("graph: requesting access token", "mode", t.cfg.Mode, "tenant", t.cfg.Tenant, "client_id", t.cfg.ClientID)
	start := time.Now()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: t.scopes})
	if err != nil {
		return "", t.signInError(op, err)
	}
	// azcore computes ExpiresOn from the real clock; carry the lifetime over to ours.
	lifetime := tok.ExpiresOn.Sub(start)
	f := &tokenFile{AccessToken: tok.Token, ExpiresAt: t.cfg.Now().Add(lifetime), Scopes: t.scopes}
	t.store(f)
	t.log.Info("graph: signed in", "mode", t.cfg.Mode, "tenant", t.cfg.Tenant, "expires_at", f.ExpiresAt)
	return f.AccessToken, nil
}

type azTokenCredential interface {
	GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error)
}

func (t *CachedTokenSource) credential() (azTokenCredential, error) {
	opts := azcore.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: t.cfg.Cloud.AuthorityHost + "/"},
	}
	if t.cfg.HTTPClient != nil {
		opts.Transport = t.cfg.HTTPClient
	}
	if t.cfg.retryDelay != 0 {
		opts.Retry = policy.RetryOptions{RetryDelay: t.cfg.retryDelay, MaxRetryDelay: t.cfg.retryDelay}
	}
	// With a Microsoft host MSAL knows the authority; with any other it would first ask
	// login.microsoftonline.com to vouch for it, which fails for a test server or a private proxy.
	noDiscovery := !isMicrosoftAuthority(t.cfg.Cloud.AuthorityHost)
	if t.cfg.Mode == ModeClientSecret {
		return azidentity.NewClientSecretCredential(t.cfg.Tenant, t.cfg.ClientID, t.cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	}
	return azidentity.NewClientCertificateCredential(t.cfg.Tenant, t.cfg.ClientID, t.cfg.Certificates, t.cfg.PrivateKey,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
}

// signInError turns azidentity's error, whose text dumps the whole HTTP answer, into an *AuthError
// carrying Entra's code and description when Entra refused us, or a plain error otherwise.
func (t *CachedTokenSource) signInError(op string, err error) error {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		body, _ := azruntime.Payload(afe.RawResponse)
		ee := parseEntraError(afe.RawResponse.StatusCode, body)
		ee.Description = t.redact(ee.Description)
		if ee.transient() {
			return &redactedError{msg: "graph: " + op + ": entra: " + ee.Error(), err: ee}
		}
		return &AuthError{Op: op, Msg: ee.Error(), Err: ee}
	}
	return &redactedError{msg: "graph: " + op + ": " + oneLine(t.redact(err.Error())), err: err}
}

// oneLine folds azidentity's multi-line messages so a log line stays one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// redactedError carries an underlying error (for errors.Is/As) under a message from which secrets
// were removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// remember records strings that must never appear in an error message.
func (t *CachedTokenSource) remember(secrets ...string) {
	for _, s := range secrets {
		if len(s) < 4 || containsString(t.secrets, s) {
			continue
		}
		t.secrets = append(t.secrets, s)
		if len(t.secrets) > 32 { // a long `sync watch` collects a token an hour; old ones are long dead
			t.secrets = t.secrets[len(t.secrets)-32:]
		}
	}
}

func (t *CachedTokenSource) redact(s string) string {
	for _, sec := range t.secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	if t.cfg.ClientSecret != "" {
		s = strings.ReplaceAll(s, t.cfg.ClientSecret, "[redacted]")
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// LoadCertificate reads the app's certificate and private key from a PEM or PKCS#12 file (an
// unencrypted one: teamsface runs unattended and has nowhere to ask for a password). The file holds
// a private key, so one that group or others can read or write is refused.
func LoadCertificate(path string) ([]*x509.Certificate, crypto.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, &ConfigError{Field: path, Msg: fmt.Sprintf("read certificate: %v", errors.Unwrap(err))}
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, nil, &ConfigError{Field: path, Msg: fmt.Sprintf(
			"certificate file holds a private key but group or others have access (mode %04o): run `chmod 600 %s`", perm, path)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, &ConfigError{Field: path, Msg: fmt.Sprintf("read certificate: %v", errors.Unwrap(err))}
	}
	certs, key, err := azidentity.ParseCertificates(data, nil)
	if err != nil {
		return nil, nil, &ConfigError{Field: path, Msg: "not a PEM or unencrypted PKCS#12 file with a certificate and its private key: " + strings.ToLower(err.Error())}
	}
	return certs, key, nil
}
