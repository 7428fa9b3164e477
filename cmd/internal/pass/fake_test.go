package pass

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// fakes are the two services in memory, for unit tests of the pass's rules. The end-to-end tests
// in cmd run the same pass against the HTTP doubles.
type fakes struct {
	mu       sync.Mutex
	people   []starface.User
	entra    []graph.User
	presence map[string]graph.Presence
	phones   map[int]starface.PhoneConfig
	sessions map[string]graph.SessionPresence // by Entra id
	fail     map[string]error                 // "put 3", "set e-3", "clear e-3", "get 3", "presence"
	calls    []string
	// notBefore is the Graph client's Retry-After: nothing is sent before it.
	notBefore time.Time
	// redirects are each user's redirects as the PBX serves them, by REST id; boxes the
	// voicemail boxes.
	redirects map[int][]starface.Redirect
	boxes     []starface.VoicemailBox
}

// redirect builds a redirect as the PBX serves one (starface.Redirect keeps the object as read).
func redirect(t testing.TB, id, number, trigger string, group, enabled bool, dest string) starface.Redirect {
	t.Helper()
	var r starface.Redirect
	raw := fmt.Sprintf(`{"id":%q,"enabled":%t,"phoneNumber":%q,"groupNumber":%t,"redirectTrigger":{"redirectTriggerType":%q},`+
		`"redirectDestination":%s,"lastMailboxDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"1"},"futureField":[1,{"x":null}]}`,
		id, enabled, number, group, trigger, dest)
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fakes) Redirects(_ context.Context, u starface.UserRef) ([]starface.Redirect, error) {
	if err := f.call(fmt.Sprintf("redirects %d", u.ID)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.redirects[u.ID]), nil
}

func (f *fakes) PutRedirect(_ context.Context, u starface.UserRef, r starface.Redirect) error {
	if err := f.call("put-redirect " + r.ID()); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, cur := range f.redirects[u.ID] {
		if cur.ID() == r.ID() {
			f.redirects[u.ID][i] = r
			return nil
		}
	}
	return errors.New("404 no such redirect")
}

func (f *fakes) VoicemailBoxes(context.Context) ([]starface.VoicemailBox, error) {
	if err := f.call("boxes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.boxes), nil
}

func (f *fakes) SetNotBefore(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notBefore = t
}

func (f *fakes) NotBefore() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notBefore
}

func newFakes(n int) *fakes {
	f := &fakes{presence: map[string]graph.Presence{}, phones: map[int]starface.PhoneConfig{},
		sessions: map[string]graph.SessionPresence{}, fail: map[string]error{}, redirects: map[int][]starface.Redirect{}}
	for i := 2; i < n+2; i++ {
		mail := fmt.Sprintf("u%d@contoso.example", i)
		id := fmt.Sprintf("e-%d", i)
		f.people = append(f.people, starface.User{ID: i, Login: fmt.Sprintf("%04d", i), Email: mail})
		f.entra = append(f.entra, graph.User{ID: id, Mail: mail, UserPrincipalName: mail, AccountEnabled: true})
		f.presence[id] = graph.Presence{ID: id, Availability: "Available", Activity: "Available"}
		f.phones[i] = starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 7, PrimaryPhoneID: 9}
	}
	return f
}

func (f *fakes) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	if err, ok := f.fail[name]; ok {
		delete(f.fail, name) // once
		return err
	}
	return nil
}

func (f *fakes) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakes) ListUsers(context.Context) ([]graph.User, error) {
	if err := f.call("entra users"); err != nil {
		return nil, err
	}
	return f.entra, nil
}
func (f *fakes) ListGroupUsers(context.Context, string) ([]graph.User, error) {
	return nil, errors.New("no groups here")
}

// StreamPresences answers as Graph does: 650 ids a request, each answer handed over in turn.
func (f *fakes) StreamPresences(_ context.Context, ids []string, got func(graph.PresenceAnswer)) error {
	for start := 0; start < len(ids); start += graph.MaxPresenceIDs {
		chunk := ids[start:min(start+graph.MaxPresenceIDs, len(ids))]
		a := graph.PresenceAnswer{IDs: chunk, Presences: map[string]graph.Presence{}}
		if err := f.call("presence"); err != nil {
			a.Err = err
			got(a)
			continue
		}
		f.mu.Lock()
		for _, id := range chunk {
			if s, ok := f.sessions[id]; ok {
				a.Presences[id] = graph.Presence{ID: id, Availability: s.Availability, Activity: s.Activity}
			} else if p, ok := f.presence[id]; ok {
				a.Presences[id] = p
			} else {
				a.Missing = append(a.Missing, id)
			}
		}
		f.mu.Unlock()
		got(a)
	}
	return nil
}

func (f *fakes) SetPresence(_ context.Context, id string, p graph.SessionPresence) error {
	if err := f.call("set " + id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[id] = p
	return nil
}

func (f *fakes) ClearPresence(_ context.Context, id, _ string) error {
	if err := f.call("clear " + id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, id)
	return nil
}

func (f *fakes) Users(context.Context) ([]starface.User, error) {
	if err := f.call("users"); err != nil {
		return nil, err
	}
	return f.people, nil
}
func (f *fakes) GroupMembers(context.Context, string) ([]int, error) {
	return nil, errors.New("no groups here")
}

func (f *fakes) PhoneConfig(_ context.Context, id int) (starface.PhoneConfig, error) {
	if err := f.call(fmt.Sprintf("get %d", id)); err != nil {
		return starface.PhoneConfig{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phones[id], nil
}

func (f *fakes) PutPhoneConfig(_ context.Context, id int, pc starface.PhoneConfig) error {
	if err := f.call(fmt.Sprintf("put %d", id)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.phones[id] = pc
	return nil
}

func (f *fakes) setDND(id int, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pc := f.phones[id]
	pc.DoNotDisturb = on
	f.phones[id] = pc
}

func (f *fakes) dnd(id int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phones[id].DoNotDisturb
}

func (f *fakes) setPresence(id, availability, activity string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.presence[id] = graph.Presence{ID: id, Availability: availability, Activity: activity}
}

const testConfig = `microsoft:
  tenant: contoso.example
  client_id: 11111111-2222-3333-4444-555555555555
starface:
  url: https://pbx.example.com
  login: "0001"
`

func testEnv(t *testing.T, f *fakes, extra string) (Env, *time.Time) {
	t.Helper()
	cfg, err := mapping.Parse([]byte(testConfig+extra), "mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	return Env{Config: cfg, Graph: f, Starface: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }, Interval: 10 * time.Second}, &now
}

// run is one pass that must not fail as a whole.
func run(t *testing.T, env Env, st *state.State) *Report {
	t.Helper()
	rep, err := runPass(context.Background(), env, st, nil, Options{})
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	return rep
}

func actions(rep *Report) []string {
	var out []string
	for _, c := range rep.Changes {
		out = append(out, c.Login+" "+c.Action)
	}
	sort.Strings(out)
	return out
}
