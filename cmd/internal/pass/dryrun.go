package pass

import (
	"context"
	"fmt"
	"sync"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// Withheld lists the writes a dry run did not send, in the order they were asked for.
type Withheld struct {
	mu     sync.Mutex
	writes []string
}

// Writes returns what was withheld, e.g. "starface: put phone config of user 2 (DND on)".
func (w *Withheld) Writes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

func (w *Withheld) add(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, fmt.Sprintf(format, args...))
}

// DryRun returns env with its write methods decorated: reads pass through to the services, and
// writes (phone configs, presence sessions, the intent journal) are recorded in the returned
// Withheld and answered as if they had succeeded. A pass run with it reports exactly what it
// would do — its plan — and changes nothing on either service. The caller does not save the
// state the pass changed in memory.
func DryRun(env Env) (Env, *Withheld) {
	w := &Withheld{}
	env.Graph = dryGraph{Graph: env.Graph, w: w}
	env.Starface = dryStarface{Starface: env.Starface, w: w}
	env.Journal = dryJournal{w: w}
	return env, w
}

type dryGraph struct {
	Graph
	w *Withheld
}

func (d dryGraph) SetPresence(_ context.Context, userID string, p graph.SessionPresence) error {
	d.w.add("graph: set presence for %s (%s/%s)", userID, p.Availability, p.Activity)
	return nil
}

func (d dryGraph) ClearPresence(_ context.Context, userID, _ string) error {
	d.w.add("graph: clear presence for %s", userID)
	return nil
}

type dryStarface struct {
	Starface
	w *Withheld
}

func (d dryStarface) PutPhoneConfig(_ context.Context, userID int, pc starface.PhoneConfig) error {
	d.w.add("starface: put phone config of user %d (DND %s)", userID, onOffWord(pc.DoNotDisturb))
	return nil
}

func (d dryStarface) PutRedirect(_ context.Context, u starface.UserRef, r starface.Redirect) error {
	d.w.add("starface: put redirect %s of %s", r, u)
	return nil
}

type dryJournal struct{ w *Withheld }

func (d dryJournal) RecordIntents(in []state.Intent) error {
	d.w.add("state: record %d intents", len(in))
	return nil
}
