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
	f, running := w.f, w.f.svc
	path := running.cfg.File
	cfg, graphKey, starfaceKey, err := loadForReload(path, f.g.deps.Getenv)
	if err != nil {
		f.log.Error("configuration not reloaded; the running one stays", "file", path, "error", err)
		return
	}
	// Build what changed beside the running services; switch over only once everything is
	// built, by swapping the one value.
	next := &services{f: f, cfg: cfg}
	newGraph, newStarface := graphKey != w.graphKey, starfaceKey != w.starfaceKey
	if !newGraph {
		next.tokens, next.graph = running.tokens, running.graph
	}
	if !newStarface {
		next.sf, next.onehub, next.live = running.sf, running.onehub, running.live
	}
	f.svc = next
	env, err := f.liveEnv(ctx, w.o.interval)
	if err != nil {
		f.svc = running
		if newStarface {
			next.close()
		}
		f.log.Error("configuration not reloaded; the running one stays", "file", path, "error", err)
		return
	}
	if newStarface {
		running.close()
	}
	w.env = env
	w.follow()
	if newGraph || newStarface {
		w.mon.recount(next) // new clients count from zero
	}
	w.graphKey, w.starfaceKey = graphKey, starfaceKey
	w.scopeToSay = true
	rebuilt := func(b bool) string {
		if b {
			return "rebuilt"
		}
		return "kept"
	}
	log := f.log
	if w.notice != nil {
		log = w.notice
	}
	log.Info("configuration reloaded; it applies from the next pass", "file", path,
		"graph_client", rebuilt(newGraph), "starface_client", rebuilt(newStarface))
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
