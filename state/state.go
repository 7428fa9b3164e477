// Package state remembers what teamsface did between runs: which STARFACE
// DND it switched on (and may therefore switch back) and what it replaced,
// the decision last applied, the reverse-direction presence sessions with
// the Entra user each was set on, failures, and the cached user match.
//
// Everything lives in one state directory (0700): state.json, compact and
// written atomically, and only when something that must survive changed, so
// that a pass every 10 s does not wear out an appliance's disk; match.json,
// the cached user match, rewritten only when the match is refreshed;
// journal, a small append-only file of intents recorded before a STARFACE
// write or a Teams presence call and settled by the next Save; and lock, an
// OS file lock held for the whole run so that two runs never interleave. A
// run killed at any point leaves either the old or the new state.json, and
// every write it may have made is either in state.json or in the journal.
// The directory and its files keep one owner: a run by a user who does not
// own the directory (root, by habit) is refused before it reads or changes
// anything (see CheckOwner).
//
// The package holds plain data only: it knows neither the Graph nor the
// STARFACE client nor the mapping rules.
package state

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Version is the state.json format this teamsface writes and the newest it
// reads. Version 1 (teamsface before the compact state) is read and upgraded;
// version 2 is version 3 without out-of-office redirects, and is read as it is.
// The version went up with the redirects so that a teamsface from before them
// refuses the file rather than drop the redirects it would not know.
const Version = 3

// State is what teamsface remembers between runs: every STARFACE user it
// must remember, by login, the cached user match (kept in a file of its own),
// and until when Graph asked not to be called.
type State struct {
	users map[string]*User
	match *MatchCache

	graphNotBefore time.Time

	// dirty: state.json must be rewritten; matchDirty: the match file.
	dirty, matchDirty bool
}

// New returns an empty state.
func New() *State {
	return &State{users: map[string]*User{}}
}

// User returns the remembered user with this login, or nil.
func (st *State) User(login string) *User { return st.users[login] }

// Take returns the user with this login, remembering a new one if needed.
func (st *State) Take(login string) *User {
	if st.users == nil {
		st.users = map[string]*User{}
	}
	u := st.users[login]
	if u == nil {
		u = &User{st: st}
		st.users[login] = u
		st.dirty = true
	}
	return u
}

// Forget drops a user who left the match once nothing about them needs
// remembering (see User.Forgettable).
func (st *State) Forget(login string) {
	if _, ok := st.users[login]; ok {
		delete(st.users, login)
		st.dirty = true
	}
}

// Logins lists the remembered users' logins, sorted.
func (st *State) Logins() []string {
	out := make([]string, 0, len(st.users))
	for l := range st.users {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Len is the number of remembered users.
func (st *State) Len() int { return len(st.users) }

// Match returns the cached user match, or nil.
func (st *State) Match() *MatchCache { return st.match }

// SetMatch caches a user match; it is saved to its own file. nil forgets it.
func (st *State) SetMatch(c *MatchCache) {
	st.match = c
	st.matchDirty = true
}

// GraphNotBefore is when Graph last asked (Retry-After) not to be called
// before; zero when it did not.
func (st *State) GraphNotBefore() time.Time { return st.graphNotBefore }

// SetGraphNotBefore remembers a Retry-After across runs (DESIGN.md rule 5).
func (st *State) SetGraphNotBefore(t time.Time) {
	if !t.Equal(st.graphNotBefore) {
		st.graphNotBefore = t
		st.dirty = true
	}
}

// Dirty reports whether the state changed since it was loaded or saved.
func (st *State) Dirty() bool { return st.dirty || st.matchDirty }

// MatchCache is the cached STARFACE ↔ Entra user match and when it was made.
type MatchCache struct {
	Time time.Time `json:"time"`
	// Key identifies the configuration the match was made with; another key means match anew.
	Key     string       `json:"key,omitempty"`
	Entries []MatchEntry `json:"entries"`
	// MailboxesRead: the voicemail boxes were read for this match, so an entry without
	// Mailboxes has none.
	MailboxesRead bool `json:"mailboxes_read,omitempty"`
}

// MatchEntry is one STARFACE user's match; the fields follow the JSON of
// `users match`.
type MatchEntry struct {
	Login      string `json:"login"`
	StarfaceID int    `json:"starface_id"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Status     string `json:"status"`
	Basis      string `json:"basis,omitempty"`
	Reason     string `json:"reason,omitempty"`
	EntraID    string `json:"entra_id,omitempty"`
	UPN        string `json:"upn,omitempty"`
	// OneHubID is the user's id on STARFACE 10's OneHub, once looked up.
	OneHubID string `json:"onehub_id,omitempty"`
	// Mailboxes are the ids of the voicemail boxes that belong to the user, once looked up
	// (MatchCache.MailboxesRead): out_of_office.redirect voicemail needs exactly one.
	Mailboxes []int `json:"mailboxes,omitempty"`
}

// Intent is a write about to be made: a STARFACE DND write (Kind ""), or a
// Teams presence session set or cleared (KindSessionSet, KindSessionClear).
// It is recorded in the journal before the write and settled by the next
// Save, so that a run killed between the write and the Save still knows the
// write may have happened: if the phone now shows Want and Before differed,
// teamsface wrote it; a session set may be live in Teams.
type Intent struct {
	Kind       string    `json:"kind,omitempty"`
	Login      string    `json:"login"`
	StarfaceID int       `json:"starface_id,omitempty"`
	Want       bool      `json:"want,omitempty"`   // DND value about to be written
	Before     bool      `json:"before,omitempty"` // DND value just read
	At         time.Time `json:"at"`
	// The session of a session intent.
	EntraID      string    `json:"entra_id,omitempty"`
	Availability string    `json:"availability,omitempty"`
	Activity     string    `json:"activity,omitempty"`
	Expires      time.Time `json:"expires,omitzero"`
	// A redirect intent's redirect, the object as read and the object written.
	RedirectID string          `json:"redirect_id,omitempty"`
	Redirect   json.RawMessage `json:"redirect,omitempty"`
	Write      json.RawMessage `json:"write,omitempty"`
	Restore    bool            `json:"restore,omitempty"`
}

// Intent kinds besides a DND write.
const (
	KindSessionSet   = "session-set"
	KindSessionClear = "session-clear"
	// KindRedirect is a redirect write: Redirect holds the object as read (the "before"),
	// Write the object written; Restore says the write puts an owned redirect back.
	KindRedirect = "redirect"
)

// DefaultDir returns the state directory used when --state-dir is not given:
// $TEAMSFACE_STATE_DIR, else $XDG_STATE_HOME/teamsface, else
// ~/.local/state/teamsface (Windows: %LOCALAPPDATA%\teamsface).
func DefaultDir() (string, error) {
	return defaultDir(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

func defaultDir(goos string, getenv func(string) string, home func() (string, error)) (string, error) {
	if d := getenv("TEAMSFACE_STATE_DIR"); d != "" {
		return d, nil
	}
	if goos == "windows" {
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "teamsface"), nil
		}
		return "", errors.New("state: no state directory: neither TEAMSFACE_STATE_DIR nor LOCALAPPDATA is set; use --state-dir")
	}
	// The XDG base directory spec says a relative path is invalid and must be
	// ignored.
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "teamsface"), nil
	}
	h, err := home()
	if err != nil || h == "" {
		return "", errors.New("state: no state directory: TEAMSFACE_STATE_DIR, XDG_STATE_HOME and HOME are unset; use --state-dir")
	}
	return filepath.Join(h, ".local", "state", "teamsface"), nil
}
