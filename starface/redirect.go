package starface

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Redirects (call forwarding, "Rufumleitung"), as ../shared/api/starface.md "Redirects" and the
// Swagger file's Redirection describe them: one object per (number × trigger), switched on and
// off and pointed at a voicemail box or a number, never created or deleted through REST.
//
// A Redirect keeps the object exactly as the PBX served it. Writing is a read-modify-write of
// the whole object (the Swagger file requires it): WithTarget changes enabled and
// redirectDestination and nothing else, so fields this client does not know and
// lastMailboxDestination / lastPhoneNumberDestination go back byte for byte as they were read.

// Trigger is a redirect's redirectTrigger.redirectTriggerType. Values the Swagger file does not
// list are kept as read.
type Trigger string

// The triggers of the Swagger file. The knowledge base: ALWAYS applies at once; BUSY while the
// user is on a call; TIMEOUT after the set time, or at once when no phone can ring.
const (
	TriggerAlways  Trigger = "ALWAYS"
	TriggerBusy    Trigger = "BUSY"
	TriggerTimeout Trigger = "TIMEOUT"
)

// DestinationKind is a redirect destination's redirectDestinationType. Values the Swagger file
// does not list are kept as read.
type DestinationKind string

// The destination kinds of the Swagger file.
const (
	DestinationMailbox     DestinationKind = "MAILBOX"     // a voicemail box: MailboxID
	DestinationPhoneNumber DestinationKind = "PHONENUMBER" // an internal or external number
)

// Destination is where a redirect sends calls. The Swagger file's RedirectDestination has no
// discriminator: a destination read from the PBX keeps its JSON, so that one that is written
// back unchanged keeps fields this client does not know. Compare destinations with Equal.
type Destination struct {
	Kind        DestinationKind
	MailboxID   string // DestinationMailbox: the box's id (a string here, an integer in /voicemailboxes)
	PhoneNumber string // DestinationPhoneNumber

	raw    string     // the JSON object as read; "" for a destination built here
	rawFor destFields // the fields raw was read as: raw is written back only while they are unchanged
}

type destFields struct {
	kind            DestinationKind
	mailbox, number string
}

func (d Destination) fields() destFields { return destFields{d.Kind, d.MailboxID, d.PhoneNumber} }

// MailboxDestination is the voicemail box with this id (VoicemailBox.ID).
func MailboxDestination(boxID int) Destination {
	return Destination{Kind: DestinationMailbox, MailboxID: strconv.Itoa(boxID)}
}

// PhoneNumberDestination is an internal or external number, as the PBX takes it (a
// third-party wiki: external numbers start with 00 rather than + since STARFACE 7).
func PhoneNumberDestination(number string) Destination {
	return Destination{Kind: DestinationPhoneNumber, PhoneNumber: number}
}

// IsZero reports whether d names no destination (a redirect served without one).
func (d Destination) IsZero() bool { return d.fields() == destFields{} }

// Equal reports whether d and o send calls to the same place: the same kind and box or number
// (surrounding spaces ignored). Destinations of a kind this client does not know are equal
// when their JSON is (in compact form); one built here never equals one of an unknown kind.
func (d Destination) Equal(o Destination) bool {
	if d.Kind != o.Kind {
		return false
	}
	switch d.Kind {
	case DestinationMailbox:
		return strings.TrimSpace(d.MailboxID) == strings.TrimSpace(o.MailboxID)
	case DestinationPhoneNumber:
		return strings.TrimSpace(d.PhoneNumber) == strings.TrimSpace(o.PhoneNumber)
	}
	if d.fields() != o.fields() {
		return false
	}
	return compactJSON(d.raw) == compactJSON(o.raw)
}

func compactJSON(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// String shows the destination for logs and plans: "mailbox 12", "number 00493012345".
func (d Destination) String() string {
	switch {
	case d.Kind == DestinationMailbox:
		return "mailbox " + oneLine(truncate(d.MailboxID, 40))
	case d.Kind == DestinationPhoneNumber:
		return "number " + oneLine(truncate(d.PhoneNumber, 40))
	case d.IsZero():
		return "none"
	case d.Kind == "":
		return "a destination without a type"
	}
	return "destination " + oneLine(truncate(string(d.Kind), 40))
}

// MarshalJSON writes the destination as read when it is unchanged, else Swagger's shape:
// {"redirectDestinationType": "MAILBOX", "mailboxId": "12"} or {..., "phoneNumber": "..."}. A
// zero Destination is null.
func (d Destination) MarshalJSON() ([]byte, error) {
	if d.raw != "" && d.fields() == d.rawFor {
		return []byte(d.raw), nil
	}
	if d.IsZero() {
		return []byte("null"), nil
	}
	m := map[string]string{"redirectDestinationType": string(d.Kind)}
	if d.MailboxID != "" || d.Kind == DestinationMailbox {
		m["mailboxId"] = d.MailboxID
	}
	if d.PhoneNumber != "" || d.Kind == DestinationPhoneNumber {
		m["phoneNumber"] = d.PhoneNumber
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads a destination leniently and keeps its JSON. null is no destination.
func (d *Destination) UnmarshalJSON(b []byte) error {
	nd, err := parseDestination(b)
	if err != nil {
		return err
	}
	*d = nd
	return nil
}

func parseDestination(b []byte) (Destination, error) {
	b = bytes.TrimSpace(b)
	if isNull(b) {
		return Destination{}, nil
	}
	var w struct {
		Kind      *string         `json:"redirectDestinationType"`
		MailboxID json.RawMessage `json:"mailboxId"`
		Number    *string         `json:"phoneNumber"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return Destination{}, fmt.Errorf("redirect destination: %w", err)
	}
	d := Destination{raw: string(b)}
	if w.Kind != nil {
		d.Kind = DestinationKind(*w.Kind)
	}
	if w.Number != nil {
		d.PhoneNumber = *w.Number
	}
	// mailboxId is a string in the Swagger file; a PBX that sends the box's integer id is
	// read the same way.
	if m := bytes.TrimSpace(w.MailboxID); len(m) > 0 && !isNull(m) {
		var s string
		if json.Unmarshal(m, &s) != nil {
			var n json.Number
			if err := json.Unmarshal(m, &n); err != nil {
				return Destination{}, errors.New("redirect destination: mailboxId is neither a string nor a number")
			}
			s = n.String()
		}
		d.MailboxID = s
	}
	d.rawFor = d.fields()
	return d, nil
}

func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }

// Redirect is one Redirection: the redirect of one number for one trigger. Its fields are read
// through methods; WithTarget makes the object to write back.
type Redirect struct {
	id          string
	enabled     bool
	phoneNumber string
	group       bool
	trigger     Trigger
	dest        Destination
	members     []member // the object as read, in order
}

// member is one field of the object as read: its key, and its value's JSON exactly as read.
type member struct {
	key string
	raw string
}

// ID is the redirect's id: opaque, used (escaped) in /rest/redirects/{id}.
func (r Redirect) ID() string { return r.id }

// Enabled reports whether the redirect is switched on.
func (r Redirect) Enabled() bool { return r.enabled }

// PhoneNumber is the number whose calls the redirect handles.
func (r Redirect) PhoneNumber() string { return r.phoneNumber }

// GroupNumber reports whether the number belongs to a group (groupNumber: true). A redirect
// whose groupNumber is missing or null counts as a group's too: teamsface never changes a
// redirect it cannot tell from a group's.
func (r Redirect) GroupNumber() bool { return r.group }

// Trigger is when the redirect applies; "" when the PBX sent none.
func (r Redirect) Trigger() Trigger { return r.trigger }

// Destination is where the redirect sends calls (while enabled; a disabled redirect keeps one).
func (r Redirect) Destination() Destination { return r.dest }

// Shows reports whether the redirect shows this target: the same enabled and an Equal
// destination. The pass asks it of a redirect it wrote, to tell its own write from a change
// made by hand since.
func (r Redirect) Shows(enabled bool, d Destination) bool {
	return r.enabled == enabled && r.dest.Equal(d)
}

// SameTarget reports whether r and o show the same target (Shows with o's enabled and
// destination).
func (r Redirect) SameTarget(o Redirect) bool { return r.Shows(o.enabled, o.dest) }

// WithTarget returns the object to PUT: r with enabled and redirectDestination set, every
// other field exactly as read. A destination read from the PBX (a redirect's Destination kept
// from before) is written back as it was read; a zero destination leaves r's as it is (a
// redirect read without one has nothing to put back).
func (r Redirect) WithTarget(enabled bool, d Destination) Redirect {
	out := r
	out.members = append([]member(nil), r.members...)
	out.enabled = enabled
	out.set("enabled", strconv.FormatBool(enabled))
	if d.IsZero() {
		return out
	}
	if d.raw == "" && d.Equal(r.dest) && r.dest.raw != "" {
		return out // unchanged: r's destination stays as read, unknown fields included
	}
	raw, _ := d.MarshalJSON() // cannot fail: strings only, or raw JSON as read
	out.dest = d
	if d.raw == "" || d.fields() != d.rawFor {
		out.dest.raw, out.dest.rawFor = string(raw), d.fields()
	}
	out.set("redirectDestination", string(raw))
	return out
}

// set replaces every occurrence of key (a duplicate key is read last-wins, so all must
// change), or appends it.
func (r *Redirect) set(key, raw string) {
	found := false
	for i := range r.members {
		if r.members[i].key == key {
			r.members[i].raw = raw
			found = true
		}
	}
	if !found {
		r.members = append(r.members, member{key: key, raw: raw})
	}
}

// String shows the redirect for logs and plans, e.g.
// `redirect "17-A" (201 ALWAYS): on → mailbox 12`.
func (r Redirect) String() string {
	state := "off"
	if r.enabled {
		state = "on"
	}
	group := ""
	if r.group {
		group = ", group number"
	}
	return fmt.Sprintf("redirect %q (%s %s%s): %s → %s", oneLine(truncate(r.id, 80)),
		oneLine(truncate(r.phoneNumber, 40)), oneLine(truncate(string(r.trigger), 20)), group, state, r.dest)
}

// MarshalJSON writes the object: its fields in the order read, each value's JSON as read
// unless WithTarget changed it. A zero Redirect is null. (Inside a value that encoding/json
// encodes, such as a state file's, the result is compacted and <, >, & are escaped: the same
// JSON values; PutRedirect sends these bytes as they are.)
func (r Redirect) MarshalJSON() ([]byte, error) {
	if r.members == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range r.members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(m.raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a Redirection (decodeRedirect); null leaves r as it is, as encoding/json
// does for other types.
func (r *Redirect) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil
	}
	nr, err := decodeRedirect(b)
	if err != nil {
		return err
	}
	*r = nr
	return nil
}

// decodeRedirect reads one Redirection. Strict where acting on it depends on it (a non-empty
// string id, a boolean enabled, and known fields of their JSON types), lenient elsewhere:
// fields this client does not know are kept, unknown trigger and destination kinds too, and a
// missing trigger or destination reads as none.
func decodeRedirect(b []byte) (Redirect, error) {
	members, err := objectMembers(b)
	if err != nil {
		return Redirect{}, err
	}
	last := map[string][]byte{}
	for _, m := range members {
		last[m.key] = []byte(m.raw)
	}
	r := Redirect{members: members, group: true}
	if err := json.Unmarshal(last["id"], &r.id); err != nil || strings.TrimSpace(r.id) == "" {
		return Redirect{}, errors.New("the redirect has no id (a non-empty string)")
	}
	field := func(key string, v any, required bool) error {
		raw, ok := last[key]
		if !ok || isNull(raw) {
			if required {
				return fmt.Errorf("redirect %q has no %s", r.id, key)
			}
			return nil
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("redirect %q field %s: %w", r.id, key, err)
		}
		return nil
	}
	var trigger struct {
		Type *string `json:"redirectTriggerType"`
	}
	var group *bool
	for _, err := range []error{
		field("enabled", &r.enabled, true),
		field("phoneNumber", &r.phoneNumber, false),
		field("groupNumber", &group, false),
		field("redirectTrigger", &trigger, false),
	} {
		if err != nil {
			return Redirect{}, err
		}
	}
	if group != nil {
		r.group = *group
	}
	if trigger.Type != nil {
		r.trigger = Trigger(*trigger.Type)
	}
	if raw, ok := last["redirectDestination"]; ok {
		if r.dest, err = parseDestination(raw); err != nil {
			return Redirect{}, fmt.Errorf("redirect %q: %w", r.id, err)
		}
	}
	return r, nil
}

// objectMembers splits a JSON object into its members, keeping each value's bytes as read.
func objectMembers(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("a redirect is not a JSON object")
	}
	members := []member{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("decode redirect: %w", err)
		}
		key, _ := t.(string) // inside an object the decoder yields keys as strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("decode redirect field %q: %w", oneLine(truncate(key, 40)), err)
		}
		members = append(members, member{key: key, raw: string(bytes.TrimSpace(raw))})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("decode redirect: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode redirect: data after the object")
	}
	return members, nil
}

// decodeRedirects reads GET /rest/redirects: a JSON array of Redirections. A null list, or a
// null or broken entry, fails the whole answer: a list that reads short would hide a redirect
// that teamsface owns.
func decodeRedirects(b []byte) ([]Redirect, error) {
	var raws []json.RawMessage
	if err := decodeAnswer(b, &raws); err != nil {
		return nil, err
	}
	out := make([]Redirect, len(raws))
	for i, raw := range raws {
		if isNull(raw) {
			return nil, fmt.Errorf("decode answer: redirect %d of %d is null", i+1, len(raws))
		}
		r, err := decodeRedirect(raw)
		if err != nil {
			return nil, fmt.Errorf("decode answer: redirect %d of %d: %w", i+1, len(raws), err)
		}
		out[i] = r
	}
	return out, nil
}

// decodeOneRedirect reads GET /rest/redirects/{id}.
func decodeOneRedirect(b []byte) (Redirect, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || isNull(b) {
		return Redirect{}, errors.New("empty answer")
	}
	r, err := decodeRedirect(b)
	if err != nil {
		return Redirect{}, fmt.Errorf("decode answer: %w", err)
	}
	return r, nil
}
