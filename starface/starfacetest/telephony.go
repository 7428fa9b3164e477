package starfacetest

import (
	"runtime"
	"sync"
	"weak"
)

// This file adds what STARFACE 10's OneHub interface shows of a user and REST does not: the call
// (telephony) state, and a notification when it or the DND changes. The OneHub double
// (starface/onehub/onehubtest) answers from here, so both doubles share one set of users.

// TelephonyState is a user's call state, named like OneHub's TELEPHONY_STATE_* values.
type TelephonyState string

const (
	TelephonyUnavailable TelephonyState = "unavailable" // no phone registered
	TelephonyAvailable   TelephonyState = "available"   // idle; what a user has until a test says otherwise
	TelephonyRinging     TelephonyState = "ringing"
	TelephonyActive      TelephonyState = "active" // on a call
	TelephonyQueuePause  TelephonyState = "queue_pause"
)

// Presence is what OneHub reports of one user.
type Presence struct {
	UserID    int // REST id
	Login     string
	DND       bool
	Telephony TelephonyState
}

// ChangeKind says which part of a user's presence changed.
type ChangeKind int

const (
	ChangeDND ChangeKind = iota + 1
	ChangeTelephony
)

// Change is one change of a user's DND or call state, as Subscribe reports it.
type Change struct {
	UserID    int
	Kind      ChangeKind
	DND       bool           // the new value, for ChangeDND
	Telephony TelephonyState // the new value, for ChangeTelephony
}

// telephony is the per-Server state of this file. It lives beside the Server (keyed by a weak
// pointer, dropped when the Server is collected) so that server.go needs no new fields.
type telephony struct {
	// deliver serialises a change's detection and its delivery, so that subscribers see
	// changes in the order they happened. Callbacks run with it held.
	deliver sync.Mutex

	mu      sync.Mutex
	states  map[int]TelephonyState
	lastDND map[int]bool // DND as last reported to subscribers
	subs    map[int]func(Change)
	nextSub int
}

var telephonies sync.Map // weak.Pointer[Server] → *telephony

func (s *Server) telephony() *telephony {
	key := weak.Make(s)
	if t, ok := telephonies.Load(key); ok {
		return t.(*telephony)
	}
	t, loaded := telephonies.LoadOrStore(key, &telephony{
		states: map[int]TelephonyState{}, lastDND: map[int]bool{}, subs: map[int]func(Change){},
	})
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { telephonies.Delete(k) }, key)
	}
	return t.(*telephony)
}

// SetTelephonyState sets a user's call state, as the PBX would when the user's phone rings, is
// answered or hung up. Subscribers hear of it when it changed. Unknown users are ignored.
func (s *Server) SetTelephonyState(userID int, st TelephonyState) {
	t := s.telephony()
	t.deliver.Lock()
	defer t.deliver.Unlock()
	s.mu.Lock()
	known := s.users[userID] != nil
	s.mu.Unlock()
	if !known {
		return
	}
	t.mu.Lock()
	old, ok := t.states[userID]
	if !ok {
		old = TelephonyAvailable
	}
	t.states[userID] = st
	subs := t.subscribersLocked()
	t.mu.Unlock()
	if old == st {
		return
	}
	for _, f := range subs {
		f(Change{UserID: userID, Kind: ChangeTelephony, Telephony: st})
	}
}

// OnCall starts (on) or ends a call of the user: TelephonyActive or TelephonyAvailable.
func (s *Server) OnCall(userID int, on bool) {
	st := TelephonyAvailable
	if on {
		st = TelephonyActive
	}
	s.SetTelephonyState(userID, st)
}

// TelephonyStateOf returns a user's call state (TelephonyAvailable until set).
func (s *Server) TelephonyStateOf(userID int) TelephonyState {
	t := s.telephony()
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.states[userID]; ok {
		return st
	}
	return TelephonyAvailable
}

// PresenceOf returns what OneHub would report of a user, and false for an unknown user.
func (s *Server) PresenceOf(userID int) (Presence, bool) {
	s.mu.Lock()
	u := s.users[userID]
	var p Presence
	if u != nil {
		p = Presence{UserID: u.ID, Login: u.Login, DND: u.Phone.DoNotDisturb}
	}
	s.mu.Unlock()
	if u == nil {
		return Presence{}, false
	}
	p.Telephony = s.TelephonyStateOf(userID)
	return p, true
}

// Presences lists every user with DND and call state, by REST id.
func (s *Server) Presences() []Presence {
	s.mu.Lock()
	out := make([]Presence, 0, len(s.users))
	for _, id := range sortedIDs(s.users) {
		u := s.users[id]
		out = append(out, Presence{UserID: u.ID, Login: u.Login, DND: u.Phone.DoNotDisturb})
	}
	s.mu.Unlock()
	for i := range out {
		out[i].Telephony = s.TelephonyStateOf(out[i].UserID)
	}
	return out
}

// Subscribe calls f for every change of a user's DND (SetDND or a phone config PUT) or call
// state from now on, in the order they happen. f runs on the goroutine that made the change and
// must neither block for long nor change this server. cancel stops the calls.
func (s *Server) Subscribe(f func(Change)) (cancel func()) {
	t := s.telephony()
	t.deliver.Lock()
	defer t.deliver.Unlock()
	// Remember every user's DND now, so that dndChanged reports only real changes.
	s.mu.Lock()
	dnd := make(map[int]bool, len(s.users))
	for id, u := range s.users {
		dnd[id] = u.Phone.DoNotDisturb
	}
	s.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastDND = dnd
	id := t.nextSub
	t.nextSub++
	t.subs[id] = f
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.subs, id)
	}
}

func (t *telephony) subscribersLocked() []func(Change) {
	out := make([]func(Change), 0, len(t.subs))
	for _, f := range t.subs {
		out = append(out, f)
	}
	return out
}

// dndChanged is called by SetDND and the phone config PUT after they released s.mu: it tells
// subscribers when the user's DND now differs from what they last heard.
func (s *Server) dndChanged(userID int) {
	t := s.telephony()
	t.deliver.Lock()
	defer t.deliver.Unlock()
	s.mu.Lock()
	u := s.users[userID]
	on := u != nil && u.Phone.DoNotDisturb
	s.mu.Unlock()
	if u == nil {
		return
	}
	t.mu.Lock()
	if len(t.subs) == 0 {
		t.mu.Unlock()
		return
	}
	last, known := t.lastDND[userID]
	t.lastDND[userID] = on
	subs := t.subscribersLocked()
	t.mu.Unlock()
	if known && last == on {
		return
	}
	for _, f := range subs {
		f(Change{UserID: userID, Kind: ChangeDND, DND: on})
	}
}
