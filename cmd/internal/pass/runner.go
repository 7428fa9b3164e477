package pass

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// Runner runs every command by one protocol (DESIGN.md "Every command runs the same protocol"):
// take the lock, load the state and the journal, settle what a killed run left, honour a
// remembered Retry-After, run, save with whatever is still unsettled. A command opens a Run,
// calls one of its methods and closes it; none touches the state, the journal or the
// Retry-After itself, so a rule added here holds for every command at once.
type Runner struct {
	// Dir is the state directory.
	Dir string
	// LockTimeout is how long Open waits for another run's lock (--lock-timeout).
	LockTimeout time.Duration
	Log         *slog.Logger
	Now         func() time.Time

	notes notes
}

// Mode is how a Run holds the state directory.
type Mode int

const (
	// Write takes the lock for the whole run and saves what the run changed.
	Write Mode = iota
	// ReadOnly reads the state beside a running sync, without the lock, and never saves it.
	// Every write to either service is withheld (DryRun), so a pass shows its plan.
	ReadOnly
)

// OpenOptions shape a Run.
type OpenOptions struct {
	Mode Mode
	// Reset forgets the state, the match and the journal first (--reset-state; Write only).
	Reset bool
}

// Run is one command's hold on the state directory, from Open to Close.
type Run struct {
	rn      *Runner
	store   *state.Store // nil when read-only
	st      *state.State
	pending []state.Intent // read-only: the journal as read; Write reads it before each pass
}

// Open takes the state directory as o says: in Write mode the lock (waiting LockTimeout), and
// the state as saved; read-only, the state and the journal as they are on disk. A directory
// the running user does not own is refused before anything in it is read or written.
func (rn *Runner) Open(o OpenOptions) (*Run, error) {
	if o.Mode == ReadOnly {
		if o.Reset {
			return nil, errors.New("pass: a read-only run cannot reset the state")
		}
		st, pending, err := state.ReadOnly(rn.Dir)
		if err != nil {
			return nil, err
		}
		return &Run{rn: rn, st: st, pending: pending}, nil
	}
	store, err := state.Open(rn.Dir, rn.LockTimeout)
	if err != nil {
		return nil, err
	}
	if o.Reset {
		if err := store.Reset(); err != nil {
			store.Close()
			return nil, err
		}
		rn.Log.Warn("state reset: teamsface no longer knows which DND it switched on; check those phones by hand")
	}
	st, err := store.Load()
	if err != nil {
		store.Close()
		return nil, err
	}
	return &Run{rn: rn, store: store, st: st}, nil
}

// Close releases the lock.
func (r *Run) Close() error {
	if r.store == nil {
		return nil
	}
	return r.store.Close()
}

// Written reports the bytes written to the state directory, and the files synced, since Open.
func (r *Run) Written() (bytes, syncs int64) {
	if r.store == nil {
		return 0, 0
	}
	return r.store.Written()
}

// prepare gives env the run's journal (or withholds every write when read-only, in the
// Withheld it returns) and the Retry-After remembered from earlier runs.
func (r *Run) prepare(env Env) (Env, *Withheld) {
	var withheld *Withheld
	if r.store == nil {
		env, withheld = DryRun(env)
	} else {
		env.Journal = r.store
	}
	if nb := r.st.GraphNotBefore(); nb.After(r.rn.Now()) {
		env.Graph.SetNotBefore(nb)
	}
	return env, withheld
}

// journal is what an earlier run left open: read now, for a run that holds the lock.
func (r *Run) journal() ([]state.Intent, error) {
	if r.store == nil {
		return r.pending, nil
	}
	return r.store.Pending()
}

// Pass runs one sync pass and saves its outcome with the intents still open, so that no
// STARFACE write is ever unknown to both the state and the journal. A read-only run plans the
// same pass, withholds its writes and reports what it would do. A pass that fails as a whole
// keeps a Retry-After Graph asked for, and the next pass starts from the state as saved.
func (r *Run) Pass(ctx context.Context, env Env, o Options) (*Report, error) {
	env, withheld := r.prepare(env)
	pending, err := r.journal()
	if err != nil {
		return nil, err
	}
	rep, err := runPass(ctx, env, r.st, pending, o)
	if err != nil {
		return nil, r.failed(env, pending, err)
	}
	rep.Withheld = withheld
	r.rn.notes.afterPass(r.rn, env, rep)
	r.rememberNotBefore(env)
	if r.store != nil {
		if err := r.store.Save(r.st, rep.Leftover...); err != nil {
			return nil, r.failed(env, pending, err)
		}
	}
	if f, ok := env.OneHub.(Follower); ok && o.Follow != nil {
		f.Follow(o.Follow, oneHubUsers(r.st))
	}
	return rep, nil
}

// failed ends a pass that failed as whole. What it settled of the journal stays open in it and
// is settled again; a Retry-After it met is kept for the runs after it (rule 5), even when the
// pass failed for another reason (say STARFACE's user list failed while Entra's was throttled).
// The state is read again, so that the next pass does not build on what this one changed in
// memory without saving.
func (r *Run) failed(env Env, pending []state.Intent, err error) error {
	if r.store == nil {
		return err
	}
	if r.rememberNotBefore(env) {
		if serr := r.store.Save(r.st, pending...); serr != nil {
			r.rn.Log.Error("cannot keep Graph's Retry-After", "error", serr)
		}
	}
	st, lerr := r.store.Load()
	if lerr != nil {
		return errors.Join(err, lerr)
	}
	r.st = st
	return err
}

// rememberNotBefore keeps, across runs, a Retry-After this run did not wait out; it reports
// whether that changed the state.
func (r *Run) rememberNotBefore(env Env) bool {
	nb := env.Graph.NotBefore()
	if !nb.After(r.rn.Now()) {
		nb = time.Time{}
	}
	if nb.Equal(r.st.GraphNotBefore()) {
		return false
	}
	r.st.SetGraphNotBefore(nb)
	return true
}

// GraphAllowed returns a *graph.ThrottledError while a Retry-After an earlier run was given
// lasts, and nil otherwise: a command that only reads asks it before its first Graph request
// and says until when instead of asking (rule 5). env's Graph client learns the time either way.
func (r *Run) GraphAllowed(env Env) error {
	nb := r.st.GraphNotBefore()
	if !nb.After(r.rn.Now()) {
		return nil
	}
	env.Graph.SetNotBefore(nb)
	return &graph.ThrottledError{Until: nb}
}

// Match matches STARFACE users with Entra users anew (users match), after GraphAllowed.
func (r *Run) Match(ctx context.Context, env Env) ([]mapping.Match, error) {
	if err := r.GraphAllowed(env); err != nil {
		return nil, err
	}
	return MatchUsers(ctx, env.Config, env.Graph, env.Starface, env.Progress)
}

// PresenceView is `presence get`: the plan of the users asked for, in the order asked.
type PresenceView struct {
	Users []*UserPlan
	// Problems are the arguments that name no matched user, one line each.
	Problems []string
}

// Presence matches users anew and plans the next pass for those args name (every matched
// user when none), reading each one's phone config: what it shows is what the next pass would
// do. It changes nothing. What an earlier run left open is settled in memory first.
func (r *Run) Presence(ctx context.Context, env Env, args []string) (*PresenceView, error) {
	if err := r.GraphAllowed(env); err != nil {
		return nil, err
	}
	env, _ = DryRun(env)
	st := r.st
	if _, pending := Settle(ctx, env, st, r.pendingForRead()); len(pending) > 0 {
		env.Log.Debug("some intents of an earlier run could not be settled", "count", len(pending))
	}
	matches, err := MatchUsers(ctx, env.Config, env.Graph, env.Starface, env.Progress)
	if err != nil {
		return nil, err
	}
	picked, problems := mapping.Find(matches, args)
	v := &PresenceView{Problems: problems}
	if len(picked) == 0 {
		return v, nil
	}
	only := make([]string, len(picked))
	for i, m := range picked {
		only[i] = m.Login
	}
	p, err := PlanPass(ctx, env, st, PlanOptions{Matches: matches, Only: only, ReadAll: true})
	if err != nil {
		return nil, err
	}
	if p.Throttled != nil {
		return nil, p.Throttled
	}
	byLogin := make(map[string]*UserPlan, len(p.Users))
	for _, up := range p.Users {
		byLogin[up.Login] = up
	}
	for _, m := range picked {
		v.Users = append(v.Users, byLogin[m.Login])
	}
	return v, nil
}

// pendingForRead is the journal for a read: as read at Open, or now under the lock.
func (r *Run) pendingForRead() []state.Intent {
	p, err := r.journal()
	if err != nil {
		r.rn.Log.Warn("cannot read the journal", "error", err)
		return nil
	}
	return p
}

// Release puts back everything teamsface holds (teamsface release): settle, plan the release
// from what the state remembers, execute, forget what was released, save. Users whose release
// fails stay remembered. A read-only run withholds every write and reports what it would do.
func (r *Run) Release(ctx context.Context, env Env) (*Report, error) {
	env, withheld := r.prepare(env)
	pending, err := r.journal()
	if err != nil {
		return nil, err
	}
	settled, leftover := Settle(ctx, env, r.st, pending)
	rep, err := PlanRelease(ctx, env, r.st).Execute(ctx, env, r.st)
	if err != nil {
		return nil, r.failed(env, pending, err)
	}
	rep.addSettled(settled, leftover, pending)
	rep.Remembered = r.st.Len()
	rep.Withheld = withheld
	if r.store == nil {
		return rep, nil
	}
	if rep.Remembered == 0 && len(rep.Leftover) == 0 {
		// Forget the match with the users: a new installation matches anew. Not while writes of
		// an earlier run are still to be checked: they stay in the journal for the next release.
		r.st.SetMatch(nil)
	}
	if err := r.store.Save(r.st, rep.Leftover...); err != nil {
		return nil, err
	}
	return rep, nil
}
