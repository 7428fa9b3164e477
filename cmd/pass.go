package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// graphAPI is what a pass needs from Microsoft Graph.
type graphAPI interface {
	ListUsers(ctx context.Context) ([]graph.User, error)
	ListGroupUsers(ctx context.Context, groupID string) ([]graph.User, error)
	GetPresences(ctx context.Context, ids []string) (graph.PresenceResult, error)
	SetPresence(ctx context.Context, userID string, p graph.SessionPresence) error
	ClearPresence(ctx context.Context, userID, sessionID string) error
}

// starfaceAPI is what a pass needs from STARFACE.
type starfaceAPI interface {
	Users(ctx context.Context) ([]starface.User, error)
	GroupMembers(ctx context.Context, name string) ([]int, error)
	PhoneConfig(ctx context.Context, userID int) (starface.PhoneConfig, error)
	PutPhoneConfig(ctx context.Context, userID int, pc starface.PhoneConfig) error
}

// intentRecorder writes intents durably before the STARFACE writes they announce.
type intentRecorder interface {
	RecordIntents([]state.Intent) error
}

// passEnv is what a pass runs with; one value serves every pass of a `sync watch`.
type passEnv struct {
	cfg    *mapping.Config
	graph  graphAPI
	sf     starfaceAPI
	log    *slog.Logger
	now    func() time.Time
	dryRun bool
	// refreshUsers forces a new user match instead of the cached one.
	refreshUsers bool
	// interval is how often passes run (sync watch's --interval); 0: estimated from the last pass.
	interval time.Duration
	// progress draws a progress line for slow reads on a terminal; nil draws nothing.
	progress *progress
}

// Actions reported for a user in a pass.
const (
	actionSwitchOn      = "dnd-on"       // DND switched on; teamsface owns it
	actionRelease       = "release"      // owned DND switched back
	actionAlreadyOn     = "already-on"   // DND was already on by hand: no write, no ownership
	actionAlreadyOff    = "already-off"  // an owned DND was switched off by hand: ownership dropped
	actionSetPresence   = "set-presence" // STARFACE → Teams session set or refreshed
	actionClearPresence = "clear-presence"
	actionSettled       = "settled" // an earlier run's write, found landed
	actionFailed        = "failed"
)

// Summary counts what a pass did. Field names are stable JSON.
type Summary struct {
	InScope         int `json:"in_scope"`
	Matched         int `json:"matched"`
	PresenceRead    int `json:"presence_read"`
	SwitchedOn      int `json:"dnd_on"`
	Released        int `json:"released"`
	Unchanged       int `json:"unchanged"`
	Kept            int `json:"kept"`
	Failed          int `json:"failed"`
	SessionsSet     int `json:"sessions_set"`
	SessionsCleared int `json:"sessions_cleared"`
	PhoneReads      int `json:"phone_reads"`
}

// Change is one line of a pass's report (or, with --dry-run, of its plan).
type Change struct {
	Login        string `json:"login"`
	UPN          string `json:"upn"`
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
	DNDBefore    *bool  `json:"dnd_before"`
	Action       string `json:"action"`
	Reason       string `json:"reason"`
	Error        string `json:"error,omitempty"`
}

// PassReport is what `sync once` prints.
type PassReport struct {
	Summary Summary         `json:"summary"`
	Changes []Change        `json:"changes"`
	Matches []mapping.Match `json:"-"`
	// Leftover are intents whose outcome is still unknown; they must outlive the state save.
	Leftover []state.Intent `json:"-"`
}

// Failed reports whether some users failed (exit 3).
func (r *PassReport) failedErr() error {
	if r.Summary.Failed == 0 {
		return nil
	}
	return &partialError{fmt.Sprintf("%d users failed; they are retried next pass", r.Summary.Failed)}
}

// userWork is one matched user's path through the pass.
type userWork struct {
	login    string
	match    mapping.Match
	u        *state.User
	presence graph.Presence
	known    bool // presence was read and is not PresenceUnknown
	decision mapping.Decision
	// needWrite: the decision may require a STARFACE write; the phone config must be read.
	needWrite bool
	// needRead: read the phone config for the STARFACE → Teams direction.
	needRead bool
	pc       starface.PhoneConfig
	read     bool
	intent   *state.Intent
	err      error
}

// runPass is one pass: read → decide → write → record, by DESIGN.md's rules. It changes st in
// place; the caller saves it (and, in a dry run, doesn't). Errors that stop the whole pass are
// returned; one user's failure is counted in the report instead.
func runPass(ctx context.Context, env passEnv, st *state.State, pending []state.Intent, rec intentRecorder) (*PassReport, error) {
	now := env.now()
	rep := &PassReport{Changes: []Change{}}
	if st.Users == nil {
		st.Users = map[string]*state.User{}
	}

	if !env.dryRun {
		rep.Leftover = settleIntents(ctx, env, st, pending, rep)
	}

	matches, err := currentMatch(ctx, env, st, now)
	if err != nil {
		return nil, err
	}
	rep.Matches = matches
	works := make([]*userWork, 0, len(matches))
	inMatch := map[string]bool{}
	for _, m := range matches {
		if m.Status != mapping.StatusExcluded {
			rep.Summary.InScope++
		}
		if m.Status != mapping.StatusMatched {
			continue
		}
		rep.Summary.Matched++
		inMatch[m.Login] = true
		u := st.Users[m.Login]
		if u == nil {
			u = &state.User{}
			st.Users[m.Login] = u
		}
		w := &userWork{login: m.Login, match: m, u: u}
		if u.EntraID != "" && u.EntraID != m.EntraID {
			// The login now matches another Entra user: the old one's session must not outlive it.
			clearLeftSession(ctx, env, w, rep, now)
		}
		u.StarfaceID, u.EntraID, u.UPN = m.StarfaceID, m.EntraID, m.UPN
		works = append(works, w)
	}

	if err := readPresences(ctx, env, works, rep); err != nil {
		return nil, err
	}
	for _, w := range works {
		decide(env, w, rep, now)
	}
	if env.cfg.StarfaceToTeams.Enabled {
		scheduleReads(env, st, works, now)
	}
	leaving := leavingUsers(st, inMatch)
	all := append(slices.Clip(works), leaving...)

	readPhoneConfigs(ctx, env, all, rep, now)
	for _, w := range works {
		planWrite(w, rep)
	}
	for _, w := range leaving {
		planLeave(w, rep)
	}
	if err := recordIntents(env, rec, all); err != nil {
		return nil, err
	}
	rep.Leftover = append(rep.Leftover, writePhoneConfigs(ctx, env, all, rep, now)...)

	// Also with the direction off: it then clears sessions left from when it was on.
	mirrorToTeams(ctx, env, works, rep, now)
	for _, w := range leaving {
		if w.err != nil {
			continue // retried next pass, still remembered
		}
		clearLeftSession(ctx, env, w, rep, now)
		if !w.u.Owned && w.u.Session == nil && !env.dryRun {
			delete(st.Users, w.login)
		}
	}
	pruneSessions(env, st, now)
	st.LastPass = now
	sort.Slice(rep.Changes, func(i, j int) bool { return rep.Changes[i].Login < rep.Changes[j].Login })
	return rep, nil
}

// settleIntents resolves writes an earlier run announced but did not live to record: the DND
// read now tells whether the write landed. Intents that cannot be settled now are returned, to be
// recorded again so that a later run still knows about them.
func settleIntents(ctx context.Context, env passEnv, st *state.State, pending []state.Intent, rep *PassReport) []state.Intent {
	var left []state.Intent
	for _, in := range pending {
		pc, err := env.sf.PhoneConfig(ctx, in.StarfaceID)
		if err != nil {
			env.log.Warn("cannot settle an earlier run's write yet", "login", in.Login, "error", err)
			left = append(left, in)
			continue
		}
		rep.Summary.PhoneReads++
		u := st.Users[in.Login]
		if u == nil {
			u = &state.User{StarfaceID: in.StarfaceID}
			st.Users[in.Login] = u
		}
		dnd := pc.DoNotDisturb
		u.DND, u.DNDReadAt = &dnd, env.now()
		if dnd != in.Want || in.Want == in.Before {
			// The write did not land: the state from before it is still right.
			env.log.Info("earlier run's write did not land", "login", in.Login)
			continue
		}
		applyWritten(u, in.Want, in.Before)
		rep.Changes = append(rep.Changes, Change{Login: in.Login, UPN: u.UPN, DNDBefore: boolPtr(in.Before),
			Action: actionSettled, Reason: fmt.Sprintf("an earlier run switched DND %s and stopped before recording it", onOffWord(in.Want))})
	}
	return left
}

// applyWritten records a landed write of DND=want that replaced before.
func applyWritten(u *state.User, want, before bool) {
	u.Written = boolPtr(want)
	u.DND = boolPtr(want)
	if want {
		u.Owned, u.Replaced, u.Applied = true, before, string(mapping.DNDOn)
	} else {
		u.Owned, u.Replaced, u.Applied = false, false, string(mapping.DNDOff)
	}
	u.Failures, u.LastError = 0, ""
}

// currentMatch returns the cached user match while it is fresh, else matches anew.
func currentMatch(ctx context.Context, env passEnv, st *state.State, now time.Time) ([]mapping.Match, error) {
	key := matchKey(env.cfg)
	if c := st.Match; c != nil && !env.refreshUsers && c.Key == key && now.Sub(c.Time) < env.cfg.Users.Refresh {
		return matchesFromCache(c), nil
	}
	matches, err := matchUsers(ctx, env.cfg, env.graph, env.sf, env.progress)
	if err != nil {
		return nil, err
	}
	st.Match = matchesToCache(matches, now, key)
	return matches, nil
}

// readPresences asks Graph for every matched user's presence in ceil(N/650) requests.
func readPresences(ctx context.Context, env passEnv, works []*userWork, rep *PassReport) error {
	ids := make([]string, len(works))
	for i, w := range works {
		ids[i] = w.match.EntraID
	}
	task := env.progress.Start("reading Teams presence")
	res, err := env.graph.GetPresences(graph.WithProgress(ctx, task.Update), ids)
	task.Done()
	if err != nil && (graph.IsAuth(err) || len(res.Presences)+len(res.Missing) == 0) {
		return fmt.Errorf("read Teams presence: %w", err)
	}
	if err != nil {
		// Some requests answered: their users go on; the others keep what they have (rule 2)
		// and count as failed, to be read again next pass (rule 7).
		missing := make(map[string]bool, len(res.Missing))
		for _, id := range res.Missing {
			missing[id] = true
		}
		for _, w := range works {
			if _, ok := res.Presences[w.match.EntraID]; !ok && !missing[w.match.EntraID] {
				w.decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "presence not read"}
				failUser(env, w, fmt.Errorf("graph: read Teams presence of %s: %w", w.login, err), rep)
			}
		}
	}
	for _, w := range works {
		p, ok := res.Presences[w.match.EntraID]
		if !ok {
			continue
		}
		w.presence = p
		w.known = p.Availability != "" && p.Availability != "PresenceUnknown"
		rep.Summary.PresenceRead++
	}
	return nil
}

// decide applies the mapping (rules 2–6) and notes whether a write may be needed.
func decide(env passEnv, w *userWork, rep *PassReport, now time.Time) {
	if w.err != nil {
		return
	}
	u := w.u
	switch {
	case !w.known && w.presence.ID == "":
		w.decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "no presence in Graph's answer"}
	case isEcho(env.cfg, u, w.presence, now):
		w.decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "teamsface's own STARFACE → Teams status (echo guard)"}
	default:
		w.decision = env.cfg.Decide(mapping.Presence{Availability: w.presence.Availability, Activity: w.presence.Activity})
	}
	if w.known {
		u.Availability, u.Activity = w.presence.Availability, w.presence.Activity
	}
	if traceEnabled(env.log) {
		env.log.Log(context.Background(), levelTrace, "decision", "login", w.login, "upn", w.match.UPN,
			"availability", w.presence.Availability, "activity", w.presence.Activity,
			"dnd", string(w.decision.DND), "reason", w.decision.Reason, "applied", u.Applied, "owned", u.Owned)
	}
	switch w.decision.DND {
	case mapping.DNDOn:
		w.needWrite = u.Applied != string(mapping.DNDOn)
	case mapping.DNDOff:
		// Only a DND teamsface owns is ever switched back (rule 4).
		w.needWrite = u.Owned
		if !u.Owned {
			u.Applied = string(mapping.DNDOff)
		}
	default:
		rep.Summary.Kept++
		return
	}
	if !w.needWrite {
		rep.Summary.Unchanged++
	}
}

// isEcho reports whether p is the pair teamsface itself put into Teams for this user, while the
// session is live or within echo_guard of its clearing (rule 6).
func isEcho(cfg *mapping.Config, u *state.User, p graph.Presence, now time.Time) bool {
	s := u.Session
	if s == nil || p.Availability != s.Availability || p.Activity != s.Activity {
		return false
	}
	return now.Sub(sessionEnd(s)) < cfg.StarfaceToTeams.EchoGuard
}

// sessionEnd is when a Teams session stopped counting: cleared, or run out if nobody refreshed it.
func sessionEnd(s *state.Session) time.Time {
	if !s.ClearedAt.IsZero() && s.ClearedAt.Before(s.Expires) {
		return s.ClearedAt
	}
	return s.Expires
}

// leavingUsers are users in the state who no longer match: a DND teamsface owns is released and
// a Teams session cleared before they are forgotten.
func leavingUsers(st *state.State, inMatch map[string]bool) []*userWork {
	var out []*userWork
	for login, u := range st.Users {
		if inMatch[login] {
			continue
		}
		out = append(out, &userWork{login: login, u: u, needWrite: u.Owned,
			match:    mapping.Match{Login: login, StarfaceID: u.StarfaceID, EntraID: u.EntraID, UPN: u.UPN},
			decision: mapping.Decision{DND: mapping.DNDOff, Reason: "no longer matched"}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].login < out[j].login })
	return out
}

// readPhoneConfigs reads, with bounded concurrency, the phone configs this pass needs.
func readPhoneConfigs(ctx context.Context, env passEnv, works []*userWork, rep *PassReport, now time.Time) {
	var todo []*userWork
	for _, w := range works {
		if w.needWrite || w.needRead {
			todo = append(todo, w)
		}
	}
	var (
		mu   sync.Mutex
		done int
	)
	task := env.progress.Start("reading STARFACE phone settings")
	defer task.Done()
	forEach(ctx, len(todo), env.cfg.Starface.Concurrency, func(i int) {
		w := todo[i]
		pc, err := env.sf.PhoneConfig(ctx, w.u.StarfaceID)
		mu.Lock()
		defer mu.Unlock()
		done++
		task.Update(done, len(todo))
		if err != nil {
			failUser(env, w, fmt.Errorf("starface: read phone config of %s: %w", w.login, err), rep)
			return
		}
		rep.Summary.PhoneReads++
		w.pc, w.read = pc, true
		dnd := pc.DoNotDisturb
		w.u.DND, w.u.DNDReadAt = &dnd, now
		if w.u.Owned && !dnd {
			// Someone switched teamsface's DND off by hand: it is theirs now (rule 4).
			w.u.Owned = false
		}
	})
}

// planWrite turns a decision and the DND just read into an intent, or into no write at all.
func planWrite(w *userWork, rep *PassReport) {
	if !w.needWrite || w.err != nil || !w.read {
		return
	}
	u, dnd := w.u, w.pc.DoNotDisturb
	switch w.decision.DND {
	case mapping.DNDOn:
		if dnd {
			// Already on: set by hand (rule 3) or ours from before. Write nothing, take nothing.
			u.Applied = string(mapping.DNDOn)
			rep.Summary.Unchanged++
			if !u.Owned {
				rep.Changes = append(rep.Changes, w.change(actionAlreadyOn, "DND already on at the phone; not taking ownership"))
			}
			return
		}
		w.intent = &state.Intent{Login: w.login, StarfaceID: u.StarfaceID, Want: true, Before: false}
	case mapping.DNDOff:
		if !dnd {
			u.Owned, u.Applied = false, string(mapping.DNDOff)
			rep.Summary.Unchanged++
			rep.Changes = append(rep.Changes, w.change(actionAlreadyOff, "DND was switched off at the phone; nothing to release"))
			return
		}
		w.intent = &state.Intent{Login: w.login, StarfaceID: u.StarfaceID, Want: u.Replaced, Before: true}
	}
}

func planLeave(w *userWork, rep *PassReport) {
	if !w.needWrite || w.err != nil || !w.read {
		return
	}
	if !w.pc.DoNotDisturb {
		w.u.Owned = false
		return
	}
	w.intent = &state.Intent{Login: w.login, StarfaceID: w.u.StarfaceID, Want: w.u.Replaced, Before: true}
}

// recordIntents makes every planned write durable in one step before any of them is sent, each
// with the DND just read, so that a run killed mid-write is settled by the next (DESIGN.md).
func recordIntents(env passEnv, rec intentRecorder, works []*userWork) error {
	var intents []state.Intent
	for _, w := range works {
		if w.intent != nil {
			w.intent.At = env.now()
			intents = append(intents, *w.intent)
		}
	}
	if len(intents) == 0 || env.dryRun || rec == nil {
		return nil
	}
	if err := rec.RecordIntents(intents); err != nil {
		return fmt.Errorf("record intended STARFACE writes: %w", err)
	}
	return nil
}

// writePhoneConfigs sends the planned writes (or, in a dry run, reports them) and settles each
// in the state. Intents whose write failed may still have landed: they are returned to be kept.
func writePhoneConfigs(ctx context.Context, env passEnv, works []*userWork, rep *PassReport, now time.Time) []state.Intent {
	var todo []*userWork
	for _, w := range works {
		if w.intent != nil {
			todo = append(todo, w)
		}
	}
	var (
		mu       sync.Mutex
		leftover []state.Intent
	)
	forEach(ctx, len(todo), env.cfg.Starface.Concurrency, func(i int) {
		w := todo[i]
		action := actionSwitchOn
		if !w.intent.Want {
			action = actionRelease
		}
		var err error
		if !env.dryRun {
			pc := w.pc
			pc.DoNotDisturb = w.intent.Want
			err = env.sf.PutPhoneConfig(ctx, w.u.StarfaceID, pc)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failUser(env, w, fmt.Errorf("starface: set DND for %s: %w", w.login, err), rep)
			leftover = append(leftover, *w.intent)
			return
		}
		if !env.dryRun {
			applyWritten(w.u, w.intent.Want, w.intent.Before)
			env.log.Info("switched DND", "login", w.login, "upn", w.match.UPN, "action", action, "reason", w.decision.Reason)
		}
		if w.intent.Want {
			rep.Summary.SwitchedOn++
		} else {
			rep.Summary.Released++
		}
		rep.Changes = append(rep.Changes, w.change(action, w.decision.Reason))
	})
	return leftover
}

// failUser counts one user's failure; the pass goes on and the user is retried next pass.
func failUser(env passEnv, w *userWork, err error, rep *PassReport) {
	w.err = err
	w.u.Failures++
	w.u.LastError = err.Error()
	rep.Summary.Failed++
	rep.Changes = append(rep.Changes, w.change(actionFailed, w.decision.Reason))
	rep.Changes[len(rep.Changes)-1].Error = err.Error()
	env.log.Error("user failed", "login", w.login, "upn", w.match.UPN, "error", err)
}

func (w *userWork) change(action, reason string) Change {
	c := Change{Login: w.login, UPN: w.match.UPN, Availability: w.presence.Availability,
		Activity: w.presence.Activity, Action: action, Reason: reason}
	if w.read {
		c.DNDBefore = boolPtr(w.pc.DoNotDisturb)
	} else if w.u.DND != nil {
		c.DNDBefore = boolPtr(*w.u.DND)
	}
	return c
}

// forEach runs fn(0..n-1) with at most limit in flight.
func forEach(ctx context.Context, n, limit int, fn func(i int)) {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

// readShare is how many phone configs one pass reads so that each user is read at least once per
// poll: N × interval / poll, rounded up.
func readShare(n int, interval, poll time.Duration) int {
	if poll <= 0 || interval >= poll {
		return n
	}
	return int(math.Ceil(float64(n) * float64(interval) / float64(poll)))
}

func boolPtr(b bool) *bool { return &b }

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// isAuthFailure tells a whole-run authentication failure from others (for sync watch).
func isAuthFailure(err error) bool { return ExitCode(err) == ExitAuth }
