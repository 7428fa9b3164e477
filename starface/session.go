package starface

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Sign-in methods (Options.Auth takes these and AuthAuto).
const (
	AuthAuto      = "auto"
	MethodClassic = "classic" // the nonce login, header authToken
	MethodOAuth   = "oauth"   // the STARFACE 10 realm's password grant, Authorization: Bearer
)

// session is what a sign-in left: the token /rest takes and, for OAuth, how to renew it. It
// is kept in memory and in the cache file (field names are the file's format).
type session struct {
	Method    string    `json:"method,omitempty"`
	Token     string    `json:"token,omitempty"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // when the PBX stops taking Token

	// OAuth only.
	RefreshToken     string    `json:"refresh_token,omitempty"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"` // zero: not announced
	TokenEndpoint    string    `json:"token_endpoint,omitempty"`    // as discovery named it
	ClientAuth       string    `json:"client_auth,omitempty"`       // basic | post: what the realm took
	Scope            string    `json:"scope,omitempty"`             // the scope the realm took
	// AutoWithSecret records, for a method auto chose, whether a client secret was configured
	// then: classic chosen for want of a secret is probed again once one is configured.
	AutoWithSecret bool `json:"auto_with_secret,omitempty"`
}

func (s session) utc() session {
	s.IssuedAt, s.ExpiresAt, s.RefreshExpiresAt = s.IssuedAt.UTC(), s.ExpiresAt.UTC(), s.RefreshExpiresAt.UTC()
	return s
}

// lastUsable is when the last of the session's tokens runs out.
func (s session) lastUsable() time.Time {
	if s.RefreshExpiresAt.After(s.ExpiresAt) {
		return s.RefreshExpiresAt
	}
	return s.ExpiresAt
}

// usable reports whether Token may still be sent at now. A classic token is used for 3.5 of
// its 4 hours; an OAuth access token until shortly before it expires (30 s, or a quarter of a
// short lifetime), so that a request is not sent with a token that dies on the way. An issue
// time far in the future (clock changed, file edited) counts as stale.
func (s session) usable(now time.Time) bool {
	if s.Token == "" || s.IssuedAt.Sub(now) > 5*time.Minute {
		return false
	}
	switch s.Method {
	case MethodClassic:
		return now.Sub(s.IssuedAt) < classicReuse
	case MethodOAuth:
		margin := min(30*time.Second, s.ExpiresAt.Sub(s.IssuedAt)/4)
		return now.Before(s.ExpiresAt.Add(-margin))
	}
	return false
}

// refreshable reports whether the refresh token may still be tried at now.
func (s session) refreshable(now time.Time) bool {
	return s.Method == MethodOAuth && s.RefreshToken != "" &&
		(s.RefreshExpiresAt.IsZero() || now.Before(s.RefreshExpiresAt.Add(-10*time.Second)))
}

// credential is a token and the header it goes in.
type credential struct {
	method, token string
}

func (cr credential) apply(h http.Header) {
	switch {
	case cr.token == "":
	case cr.method == MethodOAuth:
		h.Set("Authorization", "Bearer "+cr.token)
	default:
		h.Set("authToken", cr.token)
	}
}

// token returns a usable credential: the session in memory, else the one cached by an earlier
// run, else a renewed one (an OAuth refresh, else a new sign-in). Concurrent callers share one
// renewal (singleflight); a caller whose context ends stops waiting for it.
func (c *Client) token(ctx context.Context) (credential, error) {
	if cr, ok := c.currentCredential(); ok {
		return cr, nil
	}
	// The renewal runs with the context of the caller that started it. When that caller
	// gives up, its waiters get its context error although their own contexts are alive: they
	// start a renewal of their own, once.
	for attempt := 0; ; attempt++ {
		ch := c.logins.DoChan("login", func() (any, error) { return c.renew(ctx) })
		select {
		case res := <-ch:
			if res.Err != nil {
				if attempt == 0 && ctx.Err() == nil && isContextErr(res.Err) {
					continue
				}
				return credential{}, res.Err
			}
			return res.Val.(credential), nil
		case <-ctx.Done():
			return credential{}, ctx.Err()
		}
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// tokenState is the current session. Guarded by mu; renewals run outside the lock, in
// Client.logins.
type tokenState struct {
	mu     sync.Mutex
	s      session
	loaded bool // the cache file has been consulted
}

// snapshot returns the session, reading the cache file on first use.
func (c *Client) snapshot() session {
	t := &c.tok
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		t.loaded = true
		t.s = c.loadCache()
	}
	return t.s
}

func (c *Client) currentCredential() (credential, bool) {
	s := c.snapshot()
	if s.usable(c.now()) && c.methodAllowed(s.Method) {
		return credential{method: s.Method, token: s.Token}, true
	}
	return credential{}, false
}

// methodAllowed: a cached session of the other method is not used when the configuration
// names a method.
func (c *Client) methodAllowed(m string) bool { return c.mode == AuthAuto || c.mode == m }

// renew obtains a new token unless one that finished just before this flight began already
// left a usable one, stores it and caches it for later runs.
func (c *Client) renew(ctx context.Context) (credential, error) {
	if cr, ok := c.currentCredential(); ok {
		return cr, nil
	}
	prev := c.snapshot()
	if !c.methodAllowed(prev.Method) {
		prev = session{}
	}
	s, err := c.refreshOrSignIn(ctx, prev)
	if err != nil {
		return credential{}, err
	}
	c.tok.mu.Lock()
	c.tok.s = s
	c.tok.mu.Unlock()
	if err := c.saveCache(s); err != nil {
		c.log.WarnContext(ctx, "starface: token not cached", "error", err)
	}
	return credential{method: s.Method, token: s.Token}, nil
}

// refreshOrSignIn uses the refresh token while the realm takes it; when it refuses it (used,
// expired, session revoked), a fresh password grant follows.
func (c *Client) refreshOrSignIn(ctx context.Context, prev session) (session, error) {
	if prev.refreshable(c.now()) && c.secret != "" {
		s, err := c.refresh(ctx, prev)
		if err == nil {
			c.nRefreshes.Add(1)
			return s, nil
		}
		var oe *oauthError
		if !errors.As(err, &oe) {
			return session{}, err // the PBX unreachable or failing: a password grant would fail too
		}
		c.log.DebugContext(ctx, "starface refresh refused, signing in again", "error", oe.Code)
		prev.RefreshToken = ""
	}
	s, err := c.signIn(ctx, prev)
	if err != nil {
		return session{}, err
	}
	c.nLogins.Add(1)
	c.log.DebugContext(ctx, "starface sign-in", "login", c.login, "method", s.Method, "expires_at", s.ExpiresAt)
	return s, nil
}

// dropToken forgets tok after STARFACE refused it, unless another goroutine already replaced
// it. An OAuth session keeps its refresh token, so the next token() refreshes.
func (c *Client) dropToken(tok string) {
	c.tok.mu.Lock()
	defer c.tok.mu.Unlock()
	if c.tok.s.Token == tok {
		c.tok.s.Token = ""
	}
}

// SignIn makes sure the client holds a usable token, signing in (or refreshing) if needed.
// Business calls do this themselves; login --check calls it to report the sign-in on its own.
func (c *Client) SignIn(ctx context.Context) error {
	if _, err := c.token(ctx); err != nil {
		return fmt.Errorf("starface: %w", err)
	}
	return nil
}

// ErrNotOAuth is returned by AccessToken when the client signed in with the classic login,
// whose token only /rest takes.
var ErrNotOAuth = errors.New("starface: signed in with the classic login, not OAuth (set starface.auth: oauth and a client secret)")

// AccessToken returns the current OAuth access token, refreshed or renewed as needed, for
// other interfaces of the same PBX that take it (OneHub's gRPC metadata "authorization:
// Bearer <token>"). Call it before every use rather than keeping the token: it lives about 5
// minutes. When the other interface refuses it, call InvalidateAccessToken and ask again once.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	cr, err := c.token(ctx)
	if err != nil {
		return "", fmt.Errorf("starface: %w", err)
	}
	if cr.method != MethodOAuth {
		return "", ErrNotOAuth
	}
	return cr.token, nil
}

// InvalidateAccessToken forgets tok after another interface refused it (gRPC
// UNAUTHENTICATED), so that the next AccessToken or REST call refreshes. A token that was
// already replaced is left alone.
func (c *Client) InvalidateAccessToken(tok string) { c.dropToken(tok) }

// Method is the sign-in method in use: MethodClassic, MethodOAuth, or "" before the first
// sign-in (and when no cached session is known).
func (c *Client) Method() string {
	s := c.snapshot()
	if !c.methodAllowed(s.Method) {
		return ""
	}
	return s.Method
}

// TokenInfo describes the current sign-in for login --check. It holds no token.
type TokenInfo struct {
	Method           string    // MethodClassic or MethodOAuth; "" before the first sign-in
	IssuedAt         time.Time // when the token in use was issued
	ExpiresAt        time.Time // when the PBX stops taking it (classic: issued + 4 h)
	RefreshExpiresAt time.Time // OAuth: when the refresh token runs out (zero: not announced)
	Scope            string    // OAuth: the scope the realm took
	ClientAuth       string    // OAuth: "client_secret_basic" or "client_secret_post"
}

// Lifetime is how long the token in use lives in all (its expiry minus its issue time).
func (t TokenInfo) Lifetime() time.Duration { return t.ExpiresAt.Sub(t.IssuedAt) }

// TokenInfo returns what is known about the current sign-in.
func (c *Client) TokenInfo() TokenInfo {
	s := c.snapshot()
	if !c.methodAllowed(s.Method) {
		return TokenInfo{}
	}
	ti := TokenInfo{Method: s.Method, IssuedAt: s.IssuedAt, ExpiresAt: s.ExpiresAt,
		RefreshExpiresAt: s.RefreshExpiresAt, Scope: s.Scope}
	switch s.ClientAuth {
	case clientAuthBasic:
		ti.ClientAuth = "client_secret_basic"
	case clientAuthPost:
		ti.ClientAuth = "client_secret_post"
	}
	return ti
}

// Logout ends the session and removes it from the cache: a classic token is invalidated on
// the PBX (DELETE /rest/login); OAuth tokens are forgotten (the realm's logout endpoint is not
// documented; the refresh token runs out within hours). Having no token is not an error;
// neither is a 401 (the token was already dead).
func (c *Client) Logout(ctx context.Context) error {
	s := c.snapshot()
	c.tok.mu.Lock()
	c.tok.s = session{}
	c.tok.mu.Unlock()

	var errs []error
	if s.Method == MethodClassic && s.Token != "" && c.now().Before(s.ExpiresAt) {
		if err := c.classicLogout(ctx, s.Token); err != nil {
			errs = append(errs, fmt.Errorf("starface: log out: %w", err))
		}
	}
	if err := c.removeCache(); err != nil {
		errs = append(errs, fmt.Errorf("starface: log out: %w", err))
	}
	return errors.Join(errs...)
}
