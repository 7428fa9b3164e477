package starfacetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"weak"

	"github.com/teamsface/teamsface/starface"
)

// Redirects, from ../shared/api/starface.md "Redirects" and the Swagger file (Redirection,
// RedirectDestination and its two concrete kinds, RedirectTrigger):
//
//   - Every number has one redirect per trigger (ALWAYS, BUSY, TIMEOUT); REST can change them,
//     never create or delete them. A user sees the redirects of their own numbers
//     (groupNumber: false) and of the numbers of the groups they belong to (groupNumber: true;
//     one object shared by the members).
//   - actOnBehalfOf ("requires administrative privileges") names the user acted for: by default
//     their REST id, parsed as an integer the way a Java PBX would (so "0003" names id 3); with
//     SetActOnBehalfOf(BehalfByLogin) only the login, as some versions may (the form the client
//     must find). A value naming nobody answers 404, a non-number where an id is expected
//     400, a non-administrator acting for someone else 403 (all assumed: the Swagger file
//     documents only 500; starface.md expects 400/403/404).
//   - A PUT must carry the Swagger's required fields (enabled, id, redirectDestination,
//     redirectTrigger) with their JSON types, may not change the id, the number, groupNumber
//     or the trigger, and must name a destination the PBX has: an existing voicemail box, or a
//     number (digits, an optional leading +; empty only while the redirect is off;
//     SetRefusePlusNumbers refuses the + as a third-party wiki says STARFACE 7 does). Anything
//     else answers 400. Fields the double does not know are ignored; lastMailboxDestination and
//     lastPhoneNumberDestination are the PBX's own: it sets them from the destination written.
//     The Swagger file says nothing about group numbers' redirects being refused, so they are
//     not.
//   - A TIMEOUT trigger carries "timeout" (seconds), as a third-party client sends it.
//   - Voicemail boxes, the destinations of MAILBOX, are in voicemail.go.
//
// The state lives beside the Server (keyed by a weak pointer, as telephony.go does), guarded by
// Server.mu, so server.go needs no new fields.

// BehalfForm is the form of actOnBehalfOf the double takes.
type BehalfForm int

const (
	BehalfByID    BehalfForm = iota // the user's REST id (default), as a third-party client sends it
	BehalfByLogin                   // the login only ("0003"), as some versions may
	// BehalfIgnored: the parameter is ignored and every list is the caller's own, as a PBX
	// that does not know it might do (what the client must notice before it writes).
	BehalfIgnored
)

// RedirectState is a redirect as the PBX holds it (RedirectOf).
type RedirectState struct {
	ID          string
	Number      string
	Trigger     starface.Trigger
	GroupNumber bool
	Enabled     bool
	Destination starface.Destination
	// LastMailbox and LastPhoneNumber are what the UI offers when switching on again: the
	// last destination of each kind written (zero: none yet).
	LastMailbox, LastPhoneNumber starface.Destination
}

var triggers = []starface.Trigger{starface.TriggerAlways, starface.TriggerBusy, starface.TriggerTimeout}

type redirectBook struct {
	numbers    map[string]*numberEntry
	order      []string // numbers in the order added: the listing order
	byID       map[string]*redirectEntry
	boxes      map[int]*VoicemailBox
	behalf     BehalfForm
	refusePlus bool
}

type numberEntry struct {
	number    string
	userID    int // the owner; 0 for a group number
	groupID   int // the group; 0 for a user's number
	redirects []*redirectEntry
}

type redirectEntry struct {
	id      string
	num     *numberEntry
	trigger starface.Trigger
	timeout int // TIMEOUT only, seconds
	enabled bool
	dest    dest
	lastMB  *dest
	lastPN  *dest
	extra   map[string]json.RawMessage // fields a newer PBX serves (SetRedirectExtra)
}

type dest struct {
	kind    starface.DestinationKind
	mailbox string
	number  string
}

var redirectBooks sync.Map // weak.Pointer[Server] → *redirectBook

// book returns the server's redirect state. Callers hold s.mu.
func (s *Server) book() *redirectBook {
	key := weak.Make(s)
	if b, ok := redirectBooks.Load(key); ok {
		return b.(*redirectBook)
	}
	b, loaded := redirectBooks.LoadOrStore(key, &redirectBook{
		numbers: map[string]*numberEntry{}, byID: map[string]*redirectEntry{}, boxes: map[int]*VoicemailBox{},
	})
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { redirectBooks.Delete(k) }, key)
	}
	return b.(*redirectBook)
}

func (s *Server) redirectRoutes() {
	s.route("GET /rest/redirects", s.listRedirects)
	s.route("GET /rest/redirects/{id}", s.getRedirect)
	s.route("PUT /rest/redirects/{id}", s.putRedirect)
	s.voicemailRoutes()
}

// ---- test hooks ----

// AddNumber gives the user a phone number (internal or external): the PBX then holds its three
// redirects, off, each with an empty number as destination, with the ids "<number>-ALWAYS",
// "<number>-BUSY" and "<number>-TIMEOUT". It panics on an unknown user or a number in use.
func (s *Server) AddNumber(userID int, number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userID] == nil {
		panic(fmt.Sprintf("starfacetest: AddNumber: no user %d", userID))
	}
	s.addNumberLocked(&numberEntry{number: number, userID: userID})
}

// AddGroupNumber gives the group a number: its members see its redirects with groupNumber:
// true. It panics on an unknown group or a number in use.
func (s *Server) AddGroupNumber(groupID int, number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups[groupID] == nil {
		panic(fmt.Sprintf("starfacetest: AddGroupNumber: no group %d", groupID))
	}
	s.addNumberLocked(&numberEntry{number: number, groupID: groupID})
}

func (s *Server) addNumberLocked(n *numberEntry) {
	b := s.book()
	if b.numbers[n.number] != nil {
		panic("starfacetest: number " + n.number + " is already in use")
	}
	for _, t := range triggers {
		e := &redirectEntry{id: n.number + "-" + string(t), num: n, trigger: t,
			dest: dest{kind: starface.DestinationPhoneNumber}}
		if t == starface.TriggerTimeout {
			e.timeout = 20
		}
		n.redirects = append(n.redirects, e)
		b.byID[e.id] = e
	}
	b.numbers[n.number] = n
	b.order = append(b.order, n.number)
}

// redirectLocked finds a number's redirect for a trigger, or panics.
func (s *Server) redirectLocked(hook, number string, t starface.Trigger) *redirectEntry {
	if n := s.book().numbers[number]; n != nil {
		for _, e := range n.redirects {
			if e.trigger == t {
				return e
			}
		}
	}
	panic(fmt.Sprintf("starfacetest: %s: no redirect for number %s and trigger %s", hook, number, t))
}

// SetRedirectID renames a redirect (ids are opaque strings: a test can pick one that needs
// escaping in a path). It panics on an unknown redirect or an id in use.
func (s *Server) SetRedirectID(number string, t starface.Trigger, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.redirectLocked("SetRedirectID", number, t)
	b := s.book()
	if b.byID[id] != nil {
		panic("starfacetest: SetRedirectID: id " + id + " is in use")
	}
	delete(b.byID, e.id)
	e.id = id
	b.byID[id] = e
}

// SetRedirect is someone changing a redirect by hand (the phone menu, the UI): it switches it
// on or off and sets its destination (a zero destination keeps the one it has). It panics on
// an unknown redirect.
func (s *Server) SetRedirect(number string, t starface.Trigger, enabled bool, d starface.Destination) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.redirectLocked("SetRedirect", number, t)
	e.enabled = enabled
	if !d.IsZero() {
		e.setDest(dest{kind: d.Kind, mailbox: d.MailboxID, number: d.PhoneNumber})
	}
}

// SetRedirectExtra makes the redirect carry a field the double does not model, as a newer
// release might (raw is its JSON value; nil removes it). It panics on an unknown redirect.
func (s *Server) SetRedirectExtra(number string, t starface.Trigger, key string, raw json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.redirectLocked("SetRedirectExtra", number, t)
	if raw == nil {
		delete(e.extra, key)
		return
	}
	if e.extra == nil {
		e.extra = map[string]json.RawMessage{}
	}
	e.extra[key] = raw
}

// RedirectOf returns a number's redirect for a trigger as the PBX holds it, and false when
// there is none.
func (s *Server) RedirectOf(number string, t starface.Trigger) (RedirectState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.book().numbers[number]
	if n == nil {
		return RedirectState{}, false
	}
	for _, e := range n.redirects {
		if e.trigger == t {
			return e.state(), true
		}
	}
	return RedirectState{}, false
}

func (e *redirectEntry) state() RedirectState {
	st := RedirectState{ID: e.id, Number: e.num.number, Trigger: e.trigger, GroupNumber: e.num.groupID != 0,
		Enabled: e.enabled, Destination: e.dest.public()}
	if e.lastMB != nil {
		st.LastMailbox = e.lastMB.public()
	}
	if e.lastPN != nil {
		st.LastPhoneNumber = e.lastPN.public()
	}
	return st
}

func (d dest) public() starface.Destination {
	return starface.Destination{Kind: d.kind, MailboxID: d.mailbox, PhoneNumber: d.number}
}

// setDest changes the destination and, as the UI offers the last one of each kind when
// switching on again, remembers it as the last of its kind.
func (e *redirectEntry) setDest(d dest) {
	e.dest = d
	switch d.kind {
	case starface.DestinationMailbox:
		e.lastMB = &d
	case starface.DestinationPhoneNumber:
		if d.number != "" {
			e.lastPN = &d
		}
	}
}

// SetActOnBehalfOf sets the form of actOnBehalfOf the double takes (default BehalfByID).
func (s *Server) SetActOnBehalfOf(f BehalfForm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.book().behalf = f
}

// SetRefusePlusNumbers makes redirect targets starting with + refused (400), as a third-party
// wiki says STARFACE does since 7 (external numbers start with 00 there).
func (s *Server) SetRefusePlusNumbers(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.book().refusePlus = on
}

// ---- handlers ----

// actingFor resolves actOnBehalfOf (absent: the caller) to a copy of the user acted for; it
// answers the refusal itself and returns nil.
func (s *Server) actingFor(w http.ResponseWriter, r *http.Request) *User {
	c := caller(r)
	v, given := r.URL.Query()["actOnBehalfOf"]
	if !given {
		return c
	}
	val := ""
	if len(v) > 0 {
		val = v[0]
	}
	s.mu.Lock()
	var u *User
	form := s.book().behalf
	if form == BehalfIgnored {
		s.mu.Unlock()
		return c
	}
	if form == BehalfByID {
		id, err := strconv.Atoi(val)
		if err != nil {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "actOnBehalfOf must be the id of a user")
			return nil
		}
		u = s.users[id]
	} else {
		for _, x := range s.users {
			if x.Login == val {
				u = x
			}
		}
	}
	var cp User
	if u != nil {
		cp = *u
	}
	s.mu.Unlock()
	switch {
	case u == nil:
		writeError(w, http.StatusNotFound, "no user "+strconv.Quote(val)+" to act on behalf of")
		return nil
	case !c.Admin && cp.ID != c.ID:
		writeError(w, http.StatusForbidden, "acting on behalf of another user requires administrative privileges")
		return nil
	}
	return &cp
}

// redirectsOfLocked lists the redirects the user sees: their numbers', then their groups'.
func (s *Server) redirectsOfLocked(userID int) []*redirectEntry {
	b := s.book()
	var own, group []*redirectEntry
	for _, num := range b.order {
		n := b.numbers[num]
		switch {
		case n.userID == userID:
			own = append(own, n.redirects...)
		case n.groupID != 0 && s.groups[n.groupID] != nil && s.groups[n.groupID].members[userID]:
			group = append(group, n.redirects...)
		}
	}
	return append(own, group...)
}

// findVisibleLocked returns the user's redirect with this id, or nil.
func (s *Server) findVisibleLocked(userID int, id string) *redirectEntry {
	for _, e := range s.redirectsOfLocked(userID) {
		if e.id == id {
			return e
		}
	}
	return nil
}

// json renders a Redirection: every property of the Swagger schema, the last destinations
// null until there is one.
func (e *redirectEntry) json() map[string]any {
	trigger := map[string]any{"redirectTriggerType": string(e.trigger)}
	if e.trigger == starface.TriggerTimeout {
		trigger["timeout"] = e.timeout
	}
	m := map[string]any{}
	for k, v := range e.extra {
		m[k] = v
	}
	m["id"] = e.id
	m["enabled"] = e.enabled
	m["phoneNumber"] = e.num.number
	m["groupNumber"] = e.num.groupID != 0
	m["redirectTrigger"] = trigger
	m["redirectDestination"] = e.dest.json()
	m["lastMailboxDestination"] = e.lastMB.jsonOrNil()
	m["lastPhoneNumberDestination"] = e.lastPN.jsonOrNil()
	return m
}

func (d dest) json() map[string]any {
	m := map[string]any{"redirectDestinationType": string(d.kind)}
	if d.kind == starface.DestinationMailbox {
		m["mailboxId"] = d.mailbox
	} else {
		m["phoneNumber"] = d.number
	}
	return m
}

func (d *dest) jsonOrNil() any {
	if d == nil {
		return nil
	}
	return d.json()
}

func (s *Server) listRedirects(w http.ResponseWriter, r *http.Request) {
	u := s.actingFor(w, r)
	if u == nil {
		return
	}
	s.mu.Lock()
	out := []map[string]any{}
	for _, e := range s.redirectsOfLocked(u.ID) {
		out = append(out, e.json())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRedirect(w http.ResponseWriter, r *http.Request) {
	u := s.actingFor(w, r)
	if u == nil {
		return
	}
	s.mu.Lock()
	e := s.findVisibleLocked(u.ID, r.PathValue("id"))
	var out map[string]any
	if e != nil {
		out = e.json()
	}
	s.mu.Unlock()
	if e == nil {
		writeError(w, http.StatusNotFound, "a redirection with the id "+strconv.Quote(r.PathValue("id"))+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) putRedirect(w http.ResponseWriter, r *http.Request) {
	u := s.actingFor(w, r)
	if u == nil {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.findVisibleLocked(u.ID, id)
	if e == nil {
		writeError(w, http.StatusNotFound, "a redirection with the id "+strconv.Quote(id)+" was not found")
		return
	}
	enabled, d, msg := s.parseRedirectLocked(r, e)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	e.enabled = enabled
	e.setDest(d)
	w.WriteHeader(http.StatusNoContent)
}

var redirectNumber = regexp.MustCompile(`^\+?[0-9]+$`)

// parseRedirectLocked checks a PUT body against the redirect it is for and returns the new
// enabled and destination, or why the PBX refuses it.
func (s *Server) parseRedirectLocked(r *http.Request, e *redirectEntry) (bool, dest, string) {
	var m map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m == nil {
		return false, dest{}, "body must be a Redirection object"
	}
	var (
		enabled bool
		id      string
		trigger struct {
			Type *string `json:"redirectTriggerType"`
		}
		target struct {
			Type    *string `json:"redirectDestinationType"`
			Mailbox *string `json:"mailboxId"`
			Number  *string `json:"phoneNumber"`
		}
	)
	for _, f := range []struct {
		key string
		v   any
	}{{"enabled", &enabled}, {"id", &id}, {"redirectTrigger", &trigger}, {"redirectDestination", &target}} {
		if msg := requiredField(m, f.key, f.v); msg != "" {
			return false, dest{}, msg
		}
	}
	if id != e.id {
		return false, dest{}, "the id of a redirection cannot change"
	}
	if msg := unchanged(m, "phoneNumber", e.num.number); msg != "" {
		return false, dest{}, msg
	}
	if msg := unchanged(m, "groupNumber", e.num.groupID != 0); msg != "" {
		return false, dest{}, msg
	}
	if trigger.Type == nil || starface.Trigger(*trigger.Type) != e.trigger {
		return false, dest{}, "the trigger of a redirection cannot change"
	}
	for _, k := range []string{"lastMailboxDestination", "lastPhoneNumberDestination"} {
		if raw, ok := m[k]; ok && !isJSONNull(raw) && !isJSONObject(raw) {
			return false, dest{}, "field " + k + " must be a RedirectDestination object"
		}
	}
	d, msg := s.parseDestLocked(target.Type, target.Mailbox, target.Number, enabled)
	return enabled, d, msg
}

// parseDestLocked checks a PUT's redirectDestination: a box the PBX has, or a number (empty
// only while the redirect is off).
func (s *Server) parseDestLocked(kind, mailbox, number *string, enabled bool) (dest, string) {
	if kind == nil {
		return dest{}, "redirectDestination needs a redirectDestinationType"
	}
	switch d := (dest{kind: starface.DestinationKind(*kind)}); d.kind {
	case starface.DestinationMailbox:
		if mailbox == nil {
			return dest{}, "a MAILBOX destination needs a mailboxId"
		}
		n, err := strconv.Atoi(*mailbox)
		if err != nil || s.book().boxes[n] == nil {
			return dest{}, "no voicemail box " + strconv.Quote(*mailbox)
		}
		d.mailbox = *mailbox
		return d, ""
	case starface.DestinationPhoneNumber:
		if number == nil {
			return dest{}, "a PHONENUMBER destination needs a phoneNumber"
		}
		d.number = *number
		switch {
		case d.number == "" && !enabled:
		case !redirectNumber.MatchString(d.number):
			return dest{}, "invalid redirect target number " + strconv.Quote(d.number)
		case s.book().refusePlus && strings.HasPrefix(d.number, "+"):
			return dest{}, "external redirect targets must start with 00, not +"
		}
		return d, ""
	}
	return dest{}, "unknown redirectDestinationType " + strconv.Quote(*kind)
}

// requiredField decodes a required field of the Redirection schema into v (a *bool, a *string
// or a pointer to a struct, which take only their JSON type), or says why not.
func requiredField(m map[string]json.RawMessage, key string, v any) string {
	raw, ok := m[key]
	switch {
	case !ok:
		return "missing field " + key
	case isJSONNull(raw):
		return "field " + key + " must not be null"
	case json.Unmarshal(raw, v) != nil:
		return "field " + key + " has the wrong type"
	}
	return ""
}

// unchanged checks an optional field that, when sent, must hold what the PBX holds.
func unchanged(m map[string]json.RawMessage, key string, want any) string {
	raw, ok := m[key]
	if !ok {
		return ""
	}
	wantJSON, _ := json.Marshal(want)
	var got, exp any
	if json.Unmarshal(raw, &got) != nil || json.Unmarshal(wantJSON, &exp) != nil || got != exp {
		return "the " + key + " of a redirection cannot change"
	}
	return ""
}

func isJSONNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func isJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}
