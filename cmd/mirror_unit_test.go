package cmd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// failingSetPresence is a graphAPI whose setPresence fails after (perhaps) landing, as a timeout
// would.
type failingSetPresence struct{ graphAPI }

func (failingSetPresence) SetPresence(context.Context, string, graph.SessionPresence) error {
	return errors.New("timeout awaiting response headers")
}

func TestMirrorFailedSetPresenceStillGuardsItsPair(t *testing.T) {
	cfg, err := mapping.Parse([]byte("microsoft:\n  tenant: contoso.example\n  client_id: 11111111-2222-3333-4444-555555555555\nstarface:\n  url: https://pbx.example.com\n  login: \"0001\"\nstarface_to_teams:\n  enabled: true\n"), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	env := passEnv{cfg: cfg, graph: failingSetPresence{}, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return now }}
	u := &state.User{EntraID: "e1", DND: boolPtr(true)}
	w := &userWork{login: "0002", u: u}
	rep := &PassReport{}
	mirrorToTeams(context.Background(), env, []*userWork{w}, rep, now)
	if rep.Summary.Failed != 1 {
		t.Fatalf("summary = %+v, want the user failed", rep.Summary)
	}
	pair := graph.Presence{Availability: "DoNotDisturb", Activity: "Presenting"}
	if !isEcho(cfg, u, pair, now.Add(5*time.Minute)) {
		t.Error("the pair of a setPresence that may have landed is not guarded")
	}
	if isEcho(cfg, u, pair, now.Add(cfg.StarfaceToTeams.EchoGuard+time.Second)) {
		t.Error("the guard outlives echo_guard")
	}
}
