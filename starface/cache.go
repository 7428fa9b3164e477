package starface

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/teamsface/teamsface/internal/atomicfile"
)

// CacheFileName is the token cache's name inside Options.TokenCacheDir.
const CacheFileName = "token-starface.json"

// The cache file maps "base url|login" to the session of that login on that PBX, so that
// switching between PBXs or logins never sends one PBX's token to another. It is rewritten
// only when a token is renewed. A file written before OAuth existed holds token and issued_at
// only and reads as a classic session.
type cacheFile struct {
	Tokens map[string]session `json:"tokens"`
}

// forgetAfter is how long an entry of another PBX or login is kept after its last token ran
// out: long enough that a cron job that paused over a weekend still finds its method.
const forgetAfter = 30 * 24 * time.Hour

func (c *Client) cacheKey() string { return strings.ToLower(c.base) + "|" + c.login }

func (c *Client) cachePath() string { return filepath.Join(c.cacheDir, CacheFileName) }

// readCache returns the file's content; a missing, unreadable or too open file reads as empty.
func (c *Client) readCache() cacheFile {
	cf := cacheFile{Tokens: map[string]session{}}
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
		return cacheFile{Tokens: map[string]session{}}
	}
	if cf.Tokens == nil {
		cf.Tokens = map[string]session{}
	}
	return cf
}

// loadCache returns this login's cached session (zero when there is none).
func (c *Client) loadCache() session {
	s := c.readCache().Tokens[c.cacheKey()]
	if s.Method == "" && s.Token != "" {
		s.Method = MethodClassic // a file from before OAuth
		s.ExpiresAt = s.IssuedAt.Add(classicLifetime)
	}
	return s
}

func (c *Client) saveCache(s session) error {
	if c.cacheDir == "" {
		return nil
	}
	cf := c.readCache()
	now := c.now()
	for k, e := range cf.Tokens {
		if k != c.cacheKey() && now.Sub(e.lastUsable()) > forgetAfter {
			delete(cf.Tokens, k)
		}
	}
	cf.Tokens[c.cacheKey()] = s.utc()
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

// writeCache replaces the file atomically (see atomicfile.WriteFile), created 0600: a run killed
// half-way leaves the old file or the new one.
func (c *Client) writeCache(cf cacheFile) error {
	if err := os.MkdirAll(c.cacheDir, 0o700); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	data, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(c.cachePath(), data, 0o600); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}
