// Package pass is one sync pass, by DESIGN.md's rules, and the protocol every command runs by.
//
// A pass has two steps: PlanPass reads both services and decides what would change for each user
// and why, without changing anything; Plan.Execute records the intended STARFACE writes, makes
// the writes and the Teams presence calls, and settles the outcome in the state. The Runner
// wraps every command (sync once and watch, their dry run, presence get, release, users match,
// login --check) in one protocol: take the lock, load the state and the journal, settle what a
// killed run left (Settle), honour a remembered Retry-After, run, save with whatever is still
// unsettled. Commands in cmd/ build options, call the runner and print.
//
// The pass takes its two services as small interfaces, so it runs without cobra and without a
// network in tests. A dry run is not a flag inside it: DryRun wraps the write methods so that
// reads pass through and writes are recorded instead of sent, the way restic's dry-run backend
// does. Deciding lives in mapping, remembering in state; this package joins reads, decisions
// and writes.
package pass

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/progress"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// Directory is what matching reads from Microsoft Graph.
type Directory interface {
	ListUsers(ctx context.Context) ([]graph.User, error)
	ListGroupUsers(ctx context.Context, groupID string) ([]graph.User, error)
}

// PresenceWriter is Graph's write side: teamsface's own presence session.
type PresenceWriter interface {
	SetPresence(ctx context.Context, userID string, p graph.SessionPresence) error
	ClearPresence(ctx context.Context, userID, sessionID string) error
}

// Graph is what a pass needs from Microsoft Graph.
type Graph interface {
	Directory
	// StreamPresences reads many users' presence, ceil(n/650) requests, and hands each
	// request's answer to got as it comes (graph.Client.StreamPresences).
	StreamPresences(ctx context.Context, ids []string, got func(graph.PresenceAnswer)) error
	PresenceWriter
	// SetNotBefore and NotBefore carry a Retry-After across runs (rule 5): before the time set,
	// no request is sent; NotBefore is the latest time Graph asked for.
	SetNotBefore(t time.Time)
	NotBefore() time.Time
}

// PBXDirectory is what matching reads from STARFACE.
type PBXDirectory interface {
	Users(ctx context.Context) ([]starface.User, error)
	GroupMembers(ctx context.Context, name string) ([]int, error)
}

// PhoneWriter is STARFACE's write side: phone configs (DND) and redirects.
type PhoneWriter interface {
	PutPhoneConfig(ctx context.Context, userID int, pc starface.PhoneConfig) error
	PutRedirect(ctx context.Context, u starface.UserRef, r starface.Redirect) error
}

// Starface is what a pass needs from STARFACE.
type Starface interface {
	PBXDirectory
	PhoneConfig(ctx context.Context, userID int) (starface.PhoneConfig, error)
	// Redirects lists a user's redirects (out of office); VoicemailBoxes the voicemail boxes
	// with their users.
	Redirects(ctx context.Context, u starface.UserRef) ([]starface.Redirect, error)
	VoicemailBoxes(ctx context.Context) ([]starface.VoicemailBox, error)
	PhoneWriter
}

// Journal makes intents durable before the STARFACE writes they announce (state.Store).
type Journal interface {
	RecordIntents([]state.Intent) error
}

// Env is what passes run with: the configuration, the two services and how to log and tell
// the time. One value serves every pass of a `sync watch`; a reload builds another.
type Env struct {
	Config   *mapping.Config
	Graph    Graph
	Starface Starface
	// Journal is set by the runner: the state store, or a dry run's stand-in.
	Journal Journal
	Log     *slog.Logger
	Now     func() time.Time
	// Progress draws a progress line for slow reads on a terminal; nil draws nothing.
	Progress *progress.Bar
	// Interval is how often passes run (sync watch's --interval, sync once's for cron); 0: 10s.
	Interval time.Duration
	// OneHub, when set, reads every user's DND and call state at once (STARFACE 10) for the
	// STARFACE → Teams direction, instead of per-user phone-config reads.
	OneHub OneHub
}

// Options shape one pass.
type Options struct {
	// RefreshUsers matches users anew instead of using the cached match.
	RefreshUsers bool
	// AcceptDrop applies a refreshed match even when it drops more users than users.max_drop.
	AcceptDrop bool
	// Elapsed is the time since the previous pass (sync watch knows it); 0 takes Env.Interval.
	Elapsed time.Duration
	// Follow, when set and Env.OneHub can stream (a Follower), keeps OneHub's event stream of
	// the matched users open after the pass until Follow ends (sync watch).
	Follow context.Context
}

// runPass is one whole pass on st: settle what an earlier run left open, plan, execute. It
// changes st in place; the runner saves it. Errors that stop the whole pass are returned; one
// user's failure is counted in the report instead.
func runPass(ctx context.Context, env Env, st *state.State, pending []state.Intent, o Options) (*Report, error) {
	settled, leftover := Settle(ctx, env, st, pending)
	p, err := PlanPass(ctx, env, st, PlanOptions{RefreshUsers: o.RefreshUsers, AcceptDrop: o.AcceptDrop, Elapsed: o.Elapsed})
	if err != nil {
		return nil, err
	}
	rep, err := p.Execute(ctx, env, st)
	if err != nil {
		return nil, err
	}
	rep.addSettled(settled, leftover, pending)
	return rep, nil
}

// addSettled puts what settling found before the pass's own changes, and keeps the intents it
// could not settle.
func (rep *Report) addSettled(settled []Change, leftover, pending []state.Intent) {
	rep.Summary.PhoneReads += settledReads(pending) - settledReads(leftover)
	rep.Changes = append(append([]Change{}, settled...), rep.Changes...)
	sortChanges(rep.Changes)
	rep.Leftover = append(leftover, rep.Leftover...)
}

// settledReads counts the DND intents, each settled by a phone-config read.
func settledReads(in []state.Intent) int {
	n := 0
	for _, i := range in {
		if i.Kind == "" {
			n++
		}
	}
	return n
}

// LevelTrace is below debug: it explains each user's decision.
const LevelTrace = slog.Level(-8)

// traceEnabled says whether per-user explanations are wanted, to avoid building them otherwise.
func traceEnabled(l *slog.Logger) bool { return l.Enabled(context.Background(), LevelTrace) }

// concurrencyOf is how many requests a phase keeps in flight: the configured bound, at least 1.
func concurrencyOf(n int) int { return max(n, 1) }

// sessionConcurrency bounds setPresence/clearPresence calls in flight. They are rare (users
// whose DND was set by hand), so a small fixed number does.
const sessionConcurrency = 4

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func boolPtr(b bool) *bool { return &b }

// userError says which user a failure belongs to, once.
func userError(what, login string, err error) error {
	return fmt.Errorf("%s %s: %w", what, login, err)
}
