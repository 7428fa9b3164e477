package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/teamsface/teamsface/mapping"
)

// reload is sync watch's SIGHUP: it re-reads the configuration file it started with. A file
// that loads and whose clients can be built replaces the running configuration from the next
// pass on; anything else is logged and the running configuration stays, as nginx and
// Prometheus do. A client is rebuilt only when what it was built from changed: its section of
// the file or a secret it read (a rotated secret file is a reason to send SIGHUP). Everything
// else (rules, users, starface_to_teams) is read by each pass from the configuration, and a
// changed users section makes the next pass match users anew (the cached match names the
// configuration it was made with).
func (w *watch) reload(ctx context.Context) {
	r := w.r
	path := r.cfg.File
	cfg, graphKey, starfaceKey, err := loadForReload(path, r.g.deps.Getenv)
	if err != nil {
		r.log.Error("configuration not reloaded; the running one stays", "file", path, "error", err)
		return
	}
	// Build what changed aside; switch over only once everything is built.
	next := &run{g: r.g, cfg: cfg, log: r.log, stateDir: r.stateDir}
	newGraph, newStarface := graphKey != w.graphKey, starfaceKey != w.starfaceKey
	if newGraph {
		if _, err := next.graphClient(); err != nil {
			r.log.Error("configuration not reloaded; the running one stays", "file", path, "error", err)
			return
		}
	}
	if newStarface {
		sf, err := next.starfaceClient()
		if err == nil {
			_, err = next.oneHub(ctx, sf)
		}
		if err != nil {
			next.close()
			r.log.Error("configuration not reloaded; the running one stays", "file", path, "error", err)
			return
		}
	}

	r.cfg = cfg
	r.readLoadNoted = false // poll and read_rate may have changed: say it again if it still applies
	if newGraph {
		r.gc, r.tokens = next.gc, next.tokens
		w.graphKey = graphKey
	}
	if newStarface {
		r.close()
		r.sf, r.onehub, r.live, r.oneHubDown = next.sf, next.onehub, next.live, false
		w.starfaceKey = starfaceKey
	}
	if newGraph || newStarface {
		r.counted = r.requestCounts() // new clients count from zero
	}
	w.setEnv()
	w.scopeToSay = true
	rebuilt := func(b bool) string {
		if b {
			return "rebuilt"
		}
		return "kept"
	}
	log := r.log
	if w.notice != nil {
		log = w.notice
	}
	log.Info("configuration reloaded; it applies from the next pass", "file", path,
		"graph_client", rebuilt(newGraph), "starface_client", rebuilt(newStarface))
}

// setEnv points the passes at the run's current configuration and clients.
func (w *watch) setEnv() {
	r := w.r
	w.env = r.passEnv(r.gc, r.sf, w.o)
	w.env.Journal = w.store
	w.changed = nil
	if r.live != nil {
		w.env.Phones = r.live
		w.changed = r.live.Changed()
	}
}

// loadForReload loads the configuration file and the keys of the clients it makes.
func loadForReload(path string, getenv func(string) string) (cfg *mapping.Config, graphKey, starfaceKey string, err error) {
	cfg, err = mapping.Load(path)
	if err != nil {
		return nil, "", "", err
	}
	cfg.Getenv = getenv
	if graphKey, err = graphClientKey(cfg); err != nil {
		return nil, "", "", err
	}
	if starfaceKey, err = starfaceClientKey(cfg); err != nil {
		return nil, "", "", err
	}
	return cfg, graphKey, starfaceKey, nil
}

// graphClientKey identifies what a Graph client is built from: the microsoft section and the
// secret or certificate it reads. Only a hash is kept, never the secret.
func graphClientKey(cfg *mapping.Config) (string, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(cfg.Microsoft); err != nil {
		return "", err
	}
	switch cfg.Microsoft.Auth {
	case "client-secret":
		s, err := cfg.ClientSecret()
		if err != nil {
			return "", err
		}
		io.WriteString(h, s)
	case "client-certificate":
		b, err := os.ReadFile(cfg.Microsoft.CertificateFile)
		if err != nil {
			return "", &usageError{fmt.Errorf("%s: microsoft.certificate_file: %w", cfg.File, err)}
		}
		h.Write(b)
	}
	return sum(h), nil
}

// starfaceClientKey identifies what a STARFACE client (and OneHub) is built from: the starface
// section, the password and the OAuth client secret.
func starfaceClientKey(cfg *mapping.Config) (string, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(cfg.Starface); err != nil {
		return "", err
	}
	pw, err := cfg.StarfacePassword()
	if err != nil {
		return "", err
	}
	secret, err := cfg.StarfaceClientSecret()
	if err != nil {
		return "", err
	}
	// Length-prefixed, so that no two pairs hash alike.
	fmt.Fprintf(h, "%d:%s%d:%s", len(pw), pw, len(secret), secret)
	return sum(h), nil
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
