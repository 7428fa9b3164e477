package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/teamsface/teamsface/internal/atomicfile"
)

// tokenCacheFile is the name of the Graph token cache inside the state directory.
const tokenCacheFile = "token-graph.json"

// tokenFileVersion is bumped when the file's meaning changes; other versions are ignored
// (a new sign-in overwrites them) rather than misread.
const tokenFileVersion = 1

// cacheKey says which configuration a cached token belongs to. A token is only reused when all of
// it matches, so changing tenant, app, sign-in mode, cloud or Graph root never sends a token to the
// wrong place.
type cacheKey struct {
	Authority string `json:"authority"`
	Tenant    string `json:"tenant"`
	ClientID  string `json:"client_id"`
	Mode      string `json:"mode"`
	Graph     string `json:"graph"`
}

// tokenFile is token-graph.json. It holds secrets: written 0600, never logged.
type tokenFile struct {
	Version      int       `json:"version"`
	Key          cacheKey  `json:"key"`
	AccessToken  string    `json:"access_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	Scopes       []string  `json:"scopes,omitempty"`        // what the delegated access token was asked for
	RefreshToken string    `json:"refresh_token,omitempty"` // device code only
}

// usable reports whether the access token may still be sent: it is reused until refreshBefore ahead
// of its expiry, so a token never runs out in the middle of a pass.
func (f *tokenFile) usable(now time.Time) bool {
	return f.AccessToken != "" && now.Before(f.ExpiresAt.Add(-refreshBefore))
}

// refreshBefore is how long before expiry a cached token is replaced. Five minutes is also what
// MSAL uses; with Entra's default one-hour lifetime a run every 10 s signs in about once an hour.
const refreshBefore = 5 * time.Minute

// readTokenFile loads the cache. A missing, unreadable or foreign file is an empty cache: the worst
// outcome is one extra sign-in. A file that others may read is tightened to 0600 with a warning
// rather than refused, because refusing would stop an unattended cron job over a fixable mode bit,
// while the warning tells the admin the tokens in it may have been exposed.
func readTokenFile(dir string, key cacheKey, log *slog.Logger) *tokenFile {
	path := filepath.Join(dir, tokenCacheFile)
	info, err := os.Stat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("graph: token cache unreadable, ignoring it", "file", path, "error", err)
		}
		return nil
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		log.Warn("graph: token cache was readable by others; its tokens may have been exposed; restricting it to 0600",
			"file", path, "mode", fmt.Sprintf("%04o", info.Mode().Perm()))
		if err := os.Chmod(path, 0o600); err != nil {
			log.Warn("graph: cannot restrict token cache, ignoring it", "file", path, "error", err)
			return nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		log.Warn("graph: token cache unreadable, ignoring it", "file", path, "error", err)
		return nil
	}
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		log.Warn("graph: token cache is not valid JSON, ignoring it", "file", path)
		return nil
	}
	if f.Version != tokenFileVersion || f.Key != key {
		log.Debug("graph: token cache belongs to another configuration, ignoring it", "file", path)
		return nil
	}
	return &f
}

// writeTokenFile replaces the cache atomically (see atomicfile.WriteFile), created 0600, so a run
// killed half-way leaves the old or the new file, never a torn one, and no other process ever sees
// a partly written token.
func writeTokenFile(dir string, f *tokenFile) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	f.Version = tokenFileVersion
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, tokenCacheFile), data, 0o600); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// Logout forgets the cached Graph tokens by removing token-graph.json from cacheDir. A missing file
// is not an error: the result, no cached sign-in, is the same.
func Logout(cacheDir string) error {
	err := os.Remove(filepath.Join(cacheDir, tokenCacheFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("graph: logout: %w", err)
	}
	return nil
}

// sameScopes compares scope lists as sets.
func sameScopes(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
