package starface

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tokenReuse is how long a token is used before a fresh login. STARFACE tokens live 4 h
// (knowledge base "REST - Schnittstelle"); the margin covers clock skew and a long pass.
const tokenReuse = 3*time.Hour + 30*time.Minute

// CacheFileName is the token cache's name inside Options.TokenCacheDir.
const CacheFileName = "token-starface.json"

// Secret is the login secret for loginType Internal:
// loginId + ":" + hex(sha512(loginId + nonce + hex(sha512(password)))), hex lower case.
func Secret(loginID, nonce, password string) string {
	ph := sha512.Sum512([]byte(password))
	h := sha512.Sum512([]byte(loginID + nonce + hex.EncodeToString(ph[:])))
	return loginID + ":" + hex.EncodeToString(h[:])
}

// ADSecret is the login secret for loginType ActiveDirectory: base64(loginId + nonce + password),
// as the Swagger description of POST /login and the knowledge base give it.
func ADSecret(loginID, nonce, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(loginID + nonce + password))
}

// authMethod obtains a new token. STARFACE 10 adds an OAuth login; keeping the classic
// nonce login behind this seam lets a second method be added without touching the callers.
type authMethod interface {
	login(ctx context.Context, c *Client) (string, error)
}

// nonceLogin is GET /rest/login (template with loginType and nonce), then POST /rest/login
// with the secret, answered by {"token": ...}.
type nonceLogin struct{}

type loginBody struct {
	LoginType string `json:"loginType"`
	Nonce     string `json:"nonce"`
	Secret    string `json:"secret"`
}

func (nonceLogin) login(ctx context.Context, c *Client) (string, error) {
	op := "log in as " + c.login // callers add "starface: <what they were doing>: "
	if c.password == "" {
		return "", &AuthError{Msg: op + ": no password configured"}
	}
	status, resp, err := c.send(ctx, http.MethodGet, "/rest/login", "", nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if status < 200 || status > 299 {
		return "", fmt.Errorf("%s: get nonce: %w", op, newError(status, http.MethodGet, "/rest/login", resp))
	}
	loginType, nonce, err := decodeLoginTemplate(resp)
	if err != nil {
		return "", fmt.Errorf("%s: get nonce: %w", op, err)
	}
	body := loginBody{LoginType: loginType, Nonce: nonce}
	switch strings.ToLower(strings.ReplaceAll(loginType, "_", "")) {
	case "", "internal":
		body.LoginType = "Internal"
		body.Secret = Secret(c.login, nonce, c.password)
	case "activedirectory":
		body.Secret = ADSecret(c.login, nonce, c.password)
	default:
		return "", fmt.Errorf("%s: unsupported loginType %q", op, loginType)
	}
	in, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	status, resp, err = c.send(ctx, http.MethodPost, "/rest/login", "", in)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		// The Swagger file documents 400 for an invalid login; some releases answer 401/403.
		return "", &AuthError{Msg: op + ": credentials rejected", Err: newError(status, http.MethodPost, "/rest/login", resp)}
	case status < 200 || status > 299:
		return "", fmt.Errorf("%s: %w", op, newError(status, http.MethodPost, "/rest/login", resp))
	}
	tok, err := decodeAuthToken(resp)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return tok, nil
}

// token returns a usable token: the one in memory, else the cached one from an earlier run,
// else a new login. Concurrent callers share one login (singleflight); a caller whose context
// ends stops waiting for it.
func (c *Client) token(ctx context.Context) (string, error) {
	if tok := c.currentToken(); tok != "" {
		return tok, nil
	}
	// The login runs with the context of the caller that started it. When that caller gives
	// up, its waiters get its context error although their own contexts are alive: they start
	// a login of their own, once.
	for attempt := 0; ; attempt++ {
		ch := c.logins.DoChan("login", func() (any, error) { return c.loginOnce(ctx) })
		select {
		case res := <-ch:
			if res.Err != nil {
				if attempt == 0 && ctx.Err() == nil && isContextErr(res.Err) {
					continue
				}
				return "", res.Err
			}
			return res.Val.(string), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// currentToken is the token in memory or, on first use, the one cached by an earlier run;
// "" when there is none that is still fresh.
func (c *Client) currentToken() string {
	t := &c.tok
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.loaded {
		t.loaded = true
		t.token, t.issued = c.loadCache()
	}
	if t.token != "" && c.fresh(t.issued) {
		return t.token
	}
	return ""
}

// loginOnce logs in unless a login that finished just before this flight began already left
// a fresh token, stores the token and caches it for later runs.
func (c *Client) loginOnce(ctx context.Context) (string, error) {
	if tok := c.currentToken(); tok != "" {
		return tok, nil
	}
	issued := c.now()
	tok, err := c.auth.login(ctx, c)
	if err != nil {
		return "", err
	}
	c.tok.mu.Lock()
	c.tok.token, c.tok.issued = tok, issued
	c.tok.mu.Unlock()
	c.nLogins.Add(1)
	c.log.DebugContext(ctx, "starface login", "login", c.login)
	if err := c.saveCache(tok, issued); err != nil {
		c.log.WarnContext(ctx, "starface: token not cached", "error", err)
	}
	return tok, nil
}

// fresh reports whether a token issued at t may still be used. A time far in the future
// (clock changed, file edited) counts as stale.
func (c *Client) fresh(t time.Time) bool {
	age := c.now().Sub(t)
	return age < tokenReuse && age > -5*time.Minute
}

// dropToken forgets tok after STARFACE refused it, unless another goroutine already replaced it.
func (c *Client) dropToken(tok string) {
	c.tok.mu.Lock()
	defer c.tok.mu.Unlock()
	if c.tok.token == tok {
		c.tok.token = ""
	}
}

// Logout invalidates the token on the PBX (DELETE /rest/login) and removes it from the cache.
// Having no token is not an error; neither is a 401 (the token was already dead).
func (c *Client) Logout(ctx context.Context) error {
	c.tok.mu.Lock()
	if !c.tok.loaded {
		c.tok.loaded = true
		c.tok.token, c.tok.issued = c.loadCache()
	}
	tok := c.tok.token
	c.tok.token = ""
	c.tok.mu.Unlock()

	var errs []error
	if tok != "" {
		status, resp, err := c.send(ctx, http.MethodDelete, "/rest/login", tok, nil)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("starface: log out: %w", err))
		case status == http.StatusUnauthorized:
		case status < 200 || status > 299:
			errs = append(errs, fmt.Errorf("starface: log out: %w", newError(status, http.MethodDelete, "/rest/login", resp)))
		}
	}
	if err := c.removeCache(); err != nil {
		errs = append(errs, fmt.Errorf("starface: log out: %w", err))
	}
	return errors.Join(errs...)
}

// The cache file maps "base url|login" to a token and its issue time, so that switching
// between PBXs or logins never sends one PBX's token to another.
type cacheFile struct {
	Tokens map[string]cachedToken `json:"tokens"`
}

type cachedToken struct {
	Token    string    `json:"token"`
	IssuedAt time.Time `json:"issued_at"`
}

func (c *Client) cacheKey() string { return strings.ToLower(c.base) + "|" + c.login }

func (c *Client) cachePath() string { return filepath.Join(c.cacheDir, CacheFileName) }

// readCache returns the file's content; a missing, unreadable or too open file reads as empty.
func (c *Client) readCache() cacheFile {
	cf := cacheFile{Tokens: map[string]cachedToken{}}
	if c.cacheDir == "" {
		return cf
	}
	f, err := os.Open(c.cachePath())
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("starface: token cache unreadable", "error", err)
		}
		return cf
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		c.log.Warn("starface: token cache is readable by others, not using it", "file", c.cachePath(), "mode", fi.Mode().Perm().String())
		return cf
	}
	if err := json.NewDecoder(f).Decode(&cf); err != nil {
		c.log.Warn("starface: token cache corrupt, ignoring it", "file", c.cachePath(), "error", err)
		return cacheFile{Tokens: map[string]cachedToken{}}
	}
	if cf.Tokens == nil {
		cf.Tokens = map[string]cachedToken{}
	}
	return cf
}

func (c *Client) loadCache() (string, time.Time) {
	e, ok := c.readCache().Tokens[c.cacheKey()]
	if !ok || e.Token == "" || !c.fresh(e.IssuedAt) {
		return "", time.Time{}
	}
	return e.Token, e.IssuedAt
}

func (c *Client) saveCache(tok string, issued time.Time) error {
	if c.cacheDir == "" {
		return nil
	}
	cf := c.readCache()
	for k, e := range cf.Tokens {
		if !c.fresh(e.IssuedAt) {
			delete(cf.Tokens, k)
		}
	}
	cf.Tokens[c.cacheKey()] = cachedToken{Token: tok, IssuedAt: issued.UTC()}
	return c.writeCache(cf)
}

func (c *Client) removeCache() error {
	if c.cacheDir == "" {
		return nil
	}
	cf := c.readCache()
	delete(cf.Tokens, c.cacheKey())
	if len(cf.Tokens) == 0 {
		if err := os.Remove(c.cachePath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove token cache: %w", err)
		}
		return nil
	}
	return c.writeCache(cf)
}

// writeCache replaces the file atomically: a temp file (created 0600) in the same directory,
// fsync, rename. A run killed half-way leaves the old file or the new one.
func (c *Client) writeCache(cf cacheFile) error {
	if err := os.MkdirAll(c.cacheDir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	data, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.cacheDir, ".token-starface-*.tmp")
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.cachePath()); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}
