package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// runDemoServe is `demo --serve DIR`: the demo's simulated company, served until stopped, with
// a configuration in DIR, so that teamsface's own commands (sync once, users match, ...) can
// be run against it from another shell, e.g. to time a whole run.
func runDemoServe(stop context.Context, g *globals, o demoOptions) error {
	gs := graphtest.NewServer()
	defer gs.Close()
	ss := starfacetest.NewServer()
	defer ss.Close()
	people := demoCompany(gs, ss, o.users)
	demoStarfaceVersion(ss, o.starface)
	if err := os.MkdirAll(o.serve, 0o700); err != nil {
		return err
	}
	if _, err := demoConfig(o.serve, gs.URL, ss.URL, false, nil); err != nil {
		return err
	}
	// The services present httptest's self-signed certificate: Graph's client trusts it
	// through SSL_CERT_FILE, STARFACE's through a pinned fingerprint.
	cert := gs.Certificate()
	ca := filepath.Join(o.serve, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		return err
	}
	sum := sha256.Sum256(ss.Certificate().Raw)
	cfg := filepath.Join(o.serve, "mapping.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		return err
	}
	pinned := strings.Replace(string(data), "starface:\n", "starface:\n  fingerprint: "+hex.EncodeToString(sum[:])+"\n", 1)
	if err := os.WriteFile(cfg, []byte(pinned), 0o600); err != nil {
		return err
	}
	// The PBX administrator teamsface signs in as (0001) is a STARFACE user too, but excluded:
	// counted, it announced 13 users for --users 12.
	fmt.Fprintf(g.deps.Stderr, "SIMULATION: simulated Microsoft Teams/Entra at %s and STARFACE at %s with %s in scope (and the PBX administrator 0001, excluded), until stopped.\n",
		gs.URL, ss.URL, plural(o.users, "STARFACE user", "STARFACE users"))
	fmt.Fprintln(g.deps.Stderr, demoStarfaceBanner(o.starface))
	fmt.Fprintf(g.deps.Stderr, "In another shell:\n  export SSL_CERT_FILE=%s\n  teamsface -c %s --state-dir %s sync once\n",
		ca, cfg, filepath.Join(o.serve, "state"))
	if o.play {
		fmt.Fprintf(g.deps.Stderr, "Playing the scripted day, a step every %s (the people below change in Teams and at their phones):\n", o.step)
		playScenario(stop, g, newScenario(gs, ss, people, o.seed), o.step)
	}
	<-stop.Done()
	return nil
}

// playScenario plays the demo's scripted day on services another shell's teamsface works
// against (demo --serve --play): a step every step until stopped, then an ordinary afternoon.
func playScenario(stop context.Context, g *globals, sc *scenario, step time.Duration) {
	for {
		select {
		case <-stop.Done():
			return
		case <-g.wait(step):
		}
		sc.step(g.deps.Stderr)
	}
}
