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
	// pending counts the withheld writes to each service: what the run would change there.
	pending map[string]int
}

// Writes returns what was withheld, e.g. "starface: put phone config of user 2 (DND on)".
func (w *Withheld) Writes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// Pending counts the withheld writes to each service (ServiceStarface, ServiceTeams): what
// the run would change there, which `sync once --dry-run --detailed-exitcode` reports. The
// intent journal's records are not among them: they only record those writes.
func (w *Withheld) Pending() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.pending))
	for s, n := range w.pending {
		out[s] = n
	}
	return out
}

// The services a withheld write was meant for, as Pending names them.
const (
	ServiceStarface = "starface"
	ServiceTeams    = "teams"
)

// write withholds a write to service. Every write method of dryGraph and dryStarface goes
// through it, so that a new kind of write counts as a change of the plan by itself.
func (w *Withheld) write(service, format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, fmt.Sprintf(format, args...))
	if w.pending == nil {
		w.pending = map[string]int{}
	}
	w.pending[service]++
}

// record withholds a write to the state directory (the journal), which changes no service.
func (w *Withheld) record(format string, args ...any) {
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
	d.w.write(ServiceTeams, "graph: set presence for %s (%s/%s)", userID, p.Availability, p.Activity)
	return nil
}

func (d dryGraph) ClearPresence(_ context.Context, userID, _ string) error {
	d.w.write(ServiceTeams, "graph: clear presence for %s", userID)
	return nil
}

type dryStarface struct {
	Starface
	w *Withheld
}

func (d dryStarface) PutPhoneConfig(_ context.Context, userID int, pc starface.PhoneConfig) error {
	d.w.write(ServiceStarface, "starface: put phone config of user %d (DND %s)", userID, onOffWord(pc.DoNotDisturb))
	return nil
}

func (d dryStarface) PutRedirect(_ context.Context, u starface.UserRef, r starface.Redirect) error {
	d.w.write(ServiceStarface, "starface: put redirect %s of %s", r, u)
	return nil
}

type dryJournal struct{ w *Withheld }

func (d dryJournal) RecordIntents(in []state.Intent) error {
	d.w.record("state: record %d intents", len(in))
	return nil
}
