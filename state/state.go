// Package state remembers what teamsface did between runs: which Teams
// presence it last saw, which STARFACE DND it switched on (and may therefore
// switch back), the cached user match and the reverse-direction presence
// sessions.
//
// Everything lives in one state directory (0700): state.json, written
// atomically; journal, a small append-only file of intents recorded before a
// STARFACE write and settled by the next Save; and lock, an OS file lock held
// for the whole run so that two runs never interleave. A run killed at any
// point leaves either the old or the new state.json, and every STARFACE write
// it may have made is either in state.json or in the journal.
//
// The package holds plain data only: it knows neither the Graph nor the
// STARFACE client nor the mapping rules.
package state

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// Version is the state.json format this teamsface writes and the newest it
// reads.
const Version = 1

// State is the content of state.json: every STARFACE user teamsface
// remembers, by login, and the cached user match.
type State struct {
	users map[string]*User
	Match *MatchCache // cached user match
	// LastPass is when the last pass finished; it tells a cron-run pass how often passes come.
	LastPass time.Time
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
		u = &User{}
		st.users[login] = u
	}
	return u
}

// Forget drops a user who left the match once nothing about them needs
// remembering (see User.Forgettable).
func (st *State) Forget(login string) { delete(st.users, login) }

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

// MatchCache is the cached STARFACE ↔ Entra user match and when it was made.
type MatchCache struct {
	Time time.Time `json:"time"`
	// Key identifies the configuration the match was made with; another key means match anew.
	Key     string       `json:"key,omitempty"`
	Entries []MatchEntry `json:"entries"`
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
}

// Intent is a STARFACE DND write about to be made. It is recorded in the
// journal before the write and settled by the next Save, so that a run killed
// between the write and the Save still knows the write may have happened:
// if the phone now shows Want and Before differed, teamsface wrote it.
type Intent struct {
	Login      string    `json:"login"`
	StarfaceID int       `json:"starface_id"`
	Want       bool      `json:"want"`   // DND value about to be written
	Before     bool      `json:"before"` // DND value just read
	At         time.Time `json:"at"`
}

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
