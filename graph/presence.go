package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Availabilities are the documented presence availability values. Graph may add more; decoding
// keeps unknown strings as they are.
var Availabilities = []string{
	"Available", "AvailableIdle", "Away", "BeRightBack", "Busy", "BusyIdle",
	"DoNotDisturb", "Offline", "PresenceUnknown",
}

// Activities are the documented presence activity values. AvailableInactive is what an Available
// app session fades to after 5 minutes without refresh (setPresence docs).
var Activities = []string{
	"Available", "Away", "BeRightBack", "Busy", "DoNotDisturb", "InACall", "InAConferenceCall",
	"Inactive", "InAMeeting", "Offline", "OffWork", "OutOfOffice", "PresenceUnknown", "Presenting",
	"UrgentInterruptionsOnly", "AvailableInactive",
}

// Presence is one user's Teams presence.
type Presence struct {
	ID           string `json:"id"`
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
	// IsOutOfOffice is outOfOfficeSettings.isOutOfOffice: the user's automatic replies or
	// scheduled out of office are on, or an event shown as out of office is on their calendar.
	// False when Graph left the settings out or sent them null (older tenants, users without a
	// mailbox), or sent something else in their place. The settings' message, the user's
	// automatic reply, is not kept. Whether the user is out of office, this or the activity
	// OutOfOffice, is mapping's to say (mapping.Presence.IsOutOfOffice).
	IsOutOfOffice bool `json:"-"`
}

// presenceWire is the presence object's fields without Presence's methods (so that encoding it
// does not recurse into MarshalJSON).
type presenceWire Presence

// presenceJSON is a presence as Graph sends it. An answer of up to 650 users is decoded into a
// list of these in one go by encoding/json; only the small settings object has a decoder of its
// own, which reads it where it lies (a json.Unmarshal per presence, or one of the whole answer,
// scanned each presence a second time and cost a pass at 10,000 users a fifth of its time).
type presenceJSON struct {
	ID                  string              `json:"id"`
	Availability        string              `json:"availability"`
	Activity            string              `json:"activity"`
	OutOfOfficeSettings outOfOfficeSettings `json:"outOfOfficeSettings"`
}

func (w presenceJSON) presence() Presence {
	return Presence{ID: w.ID, Availability: w.Availability, Activity: w.Activity, IsOutOfOffice: bool(w.OutOfOfficeSettings)}
}

// outOfOfficeSettings is isOutOfOffice alone: the message, the user's automatic reply, is not
// kept. Missing, null, or a value of another shape (a string, isOutOfOffice not a bool) is not
// out of office by this field, rather than failing an answer of 650 users.
type outOfOfficeSettings bool

// UnmarshalJSON reads isOutOfOffice off the object's top level. encoding/json has checked the
// whole answer before it calls this, so b is valid JSON.
func (s *outOfOfficeSettings) UnmarshalJSON(b []byte) error {
	*s = false
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' {
		return nil
	}
	i := 1
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return nil // '}' or anything else: the end
		}
		end := skipString(b, i)
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		i = skipSpace(b, i+1)
		start := i
		i = skipValue(b, i)
		if string(key) == "isOutOfOffice" {
			*s = string(b[start:i]) == "true"
		}
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != ',' {
			return nil
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts (with its quote) at i.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index after the value that starts at i.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// UnmarshalJSON decodes a presence leniently: outOfOfficeSettings is read only for its
// isOutOfOffice, and a settings value of another shape is ignored.
func (p *Presence) UnmarshalJSON(b []byte) error {
	var w presenceJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = w.presence()
	return nil
}

// MarshalJSON writes Graph's shape, outOfOfficeSettings without a message, so that a presence
// survives a round trip through JSON.
func (p Presence) MarshalJSON() ([]byte, error) {
	type settings struct {
		IsOutOfOffice bool `json:"isOutOfOffice"`
	}
	return json.Marshal(struct {
		presenceWire
		OutOfOfficeSettings settings `json:"outOfOfficeSettings"`
	}{presenceWire(p), settings{p.IsOutOfOffice}})
}

// PresenceResult is the answer to GetPresences.
type PresenceResult struct {
	Presences map[string]Presence // keyed by the id as asked for
	Missing   []string            // ids asked for but absent from the answers
}

// PresenceAnswer is one getPresencesByUserId request's outcome.
type PresenceAnswer struct {
	IDs       []string            // the ids this request asked for (as given, trimmed and deduplicated)
	Presences map[string]Presence // keyed by the id as asked for
	Missing   []string            // asked for but absent from the answer
	Err       error               // this request failed (after retries); its ids are in neither map
}

// MaxPresenceIDs is getPresencesByUserId's documented limit per request: StreamPresences sends
// one request per MaxPresenceIDs ids.
const MaxPresenceIDs = 650

// StreamPresences reads the presence of many users by object id in ceil(n/650) requests, at most
// Options.Concurrency in flight, and calls got once per request as it answers. Ids are trimmed,
// empty ones dropped and duplicates (in any letter case) dropped, keeping the first spelling;
// the requests take them in that order, 650 at a time. Zero ids make no request and no call.
//
// got is never called concurrently: every call is made from the goroutine that called
// StreamPresences, which returns only after the last one, so got needs no lock. Progress
// (WithProgress) is reported before got is called, once per request that answered.
//
// A request that fails after its retries (a 5xx, a 404, the network) does not stop the others:
// its answer carries Err, wrapped as "graph: get presences (ids 651-1300): ...", with the
// positions of its ids among the deduplicated ones. Three things do stop requests:
//   - A 401/403 answer (the token or a permission is refused, so every other request would be
//     refused too, and the run ends with exit code 4 anyway): its answer is delivered, requests
//     not yet sent are not sent, and those in flight are cancelled and not delivered. The
//     returned error is that answer's Err (IsAuth reports true).
//   - Graph asking to wait longer than the client waits (a Retry-After beyond Options.MaxWait,
//     the attempts or ctx's deadline): the client keeps that time (NotBefore), so every request
//     not yet sent ends at once, without being sent, with a *ThrottledError of its own (Err nil),
//     and is delivered like any failed request; requests already in flight finish. The same
//     holds when the client was held off before the call (SetNotBefore). The returned error
//     wraps the first *ThrottledError delivered.
//   - The end of ctx: requests not yet sent are not sent; those in flight fail with ctx's
//     error and are delivered. When N of the M requests were never sent, the returned error
//     (joined with a *ThrottledError, if any) reads "graph: get presences: N of M requests not
//     sent: " and wraps context.Cause(ctx).
//
// Otherwise StreamPresences returns nil, even when requests failed: their answers say so.
func (c *Client) StreamPresences(ctx context.Context, ids []string, got func(PresenceAnswer)) error {
	return c.streamPresences(ctx, uniqueIDs(ids), got).err()
}

// presenceStream is what stopped a stream of presence requests, if anything.
type presenceStream struct {
	cause     error // context.Cause of the caller's ctx at the end
	refusal   error // the first 401/403 answer's Err
	throttled error // the first *ThrottledError answer's Err
	unsent    int   // requests never sent
	requests  int
}

func (s presenceStream) err() error {
	if s.refusal != nil {
		return s.refusal
	}
	return errors.Join(s.throttled, s.notSent())
}

// notSent is the error for requests the end of ctx kept from being sent (a refusal says enough
// on its own).
func (s presenceStream) notSent() error {
	if s.unsent == 0 || s.refusal != nil {
		return nil
	}
	return wrapOp("get presences", fmt.Errorf("%d of %d requests not sent: %w", s.unsent, s.requests, s.cause))
}

// streamPresences is StreamPresences on ids already deduplicated.
func (c *Client) streamPresences(ctx context.Context, ids []string, got func(PresenceAnswer)) presenceStream {
	s := presenceStream{requests: (len(ids) + MaxPresenceIDs - 1) / MaxPresenceIDs}
	if s.requests == 0 {
		return s
	}
	// Buffered for every request, so no request waits for got.
	answers := make(chan PresenceAnswer, s.requests)
	var sent atomic.Int64
	// Only a refusal is returned to the group, so only a refusal (or the end of ctx) cancels
	// gctx; every other failure stays with its request.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	go func() {
		for first := 0; first < len(ids) && gctx.Err() == nil; first += MaxPresenceIDs {
			chunk := ids[first:min(first+MaxPresenceIDs, len(ids))]
			g.Go(func() error {
				if gctx.Err() != nil {
					return nil // refused elsewhere, or the caller gave up while this one waited
				}
				sent.Add(1)
				a := c.presenceRequest(gctx, first, chunk)
				if cutShort(ctx, gctx, a.Err) {
					return nil // it adds nothing to the refusal that cut it short
				}
				answers <- a
				if IsAuth(a.Err) {
					return a.Err
				}
				return nil
			})
		}
		_ = g.Wait()
		close(answers)
	}()
	answered := 0
	for a := range answers {
		var te *ThrottledError
		switch {
		case a.Err == nil:
			answered++
			reportProgress(ctx, answered, s.requests)
		case IsAuth(a.Err) && s.refusal == nil:
			s.refusal = a.Err
		case errors.As(a.Err, &te) && s.throttled == nil:
			s.throttled = a.Err
		}
		got(a)
	}
	s.unsent = s.requests - int(sent.Load())
	s.cause = context.Cause(ctx)
	return s
}

// cutShort reports whether err ended a request because another request was refused: gctx (the
// group's) was cancelled, ctx (the caller's) was not, and err is that cancellation, which
// errgroup gives the refusal as its cause.
func cutShort(ctx, gctx context.Context, err error) bool {
	return err != nil && gctx.Err() != nil && ctx.Err() == nil &&
		(errors.Is(err, context.Cause(gctx)) || errors.Is(err, context.Canceled))
}

// presenceRequest makes the request for ids, which start at position first of all the ids.
func (c *Client) presenceRequest(ctx context.Context, first int, ids []string) PresenceAnswer {
	a := PresenceAnswer{IDs: ids}
	got, err := c.presenceChunk(ctx, ids)
	if err != nil {
		a.Err = wrapOp(fmt.Sprintf("get presences (ids %d-%d)", first+1, first+len(ids)), err)
		return a
	}
	a.Presences = got
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			a.Missing = append(a.Missing, id)
		}
	}
	return a
}

// GetPresences reads the presence of many users by object id: StreamPresences, with the answers
// gathered in the order of the ids. Duplicate and empty ids are dropped first; zero ids make no
// request.
//
// A failed request (after its retries) does not stop the others: the error names the failed id
// ranges and the result holds what the other requests returned, so that a pass can go on with
// them. Ids of a failed range are in neither Presences nor Missing.
//
// A 401/403, a wait Graph asked for that the client does not make, and the end of ctx stop the
// requests not yet sent, as StreamPresences says. The error joins, in the order of the ids, the
// error of every request delivered that failed, then (unless a request was refused) how many
// requests the end of ctx kept from being sent.
func (c *Client) GetPresences(ctx context.Context, ids []string) (PresenceResult, error) {
	ids = uniqueIDs(ids)
	res := PresenceResult{Presences: make(map[string]Presence, len(ids))}
	var answers []PresenceAnswer
	s := c.streamPresences(ctx, ids, func(a PresenceAnswer) { answers = append(answers, a) })
	// The requests took the ids in order, so a request's first id orders the answers.
	pos := make(map[string]int, len(answers))
	for i := 0; i < len(ids); i += MaxPresenceIDs {
		pos[ids[i]] = i
	}
	slices.SortFunc(answers, func(a, b PresenceAnswer) int { return pos[a.IDs[0]] - pos[b.IDs[0]] })
	var errs []error
	for _, a := range answers {
		if a.Err != nil {
			errs = append(errs, a.Err)
			continue
		}
		maps.Copy(res.Presences, a.Presences)
		res.Missing = append(res.Missing, a.Missing...)
	}
	return res, errors.Join(append(errs, s.notSent())...)
}

// presenceChunk makes one getPresencesByUserId request and maps the answers back to the ids as
// asked (object ids are GUIDs; Graph may answer them in another letter case).
func (c *Client) presenceChunk(ctx context.Context, ids []string) (map[string]Presence, error) {
	var out struct {
		Value []presenceJSON `json:"value"`
	}
	r := call{
		method: http.MethodPost,
		url:    c.url("/v1.0/communications/getPresencesByUserId", ""),
		body:   map[string][]string{"ids": ids},
	}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	asked := make(map[string]string, len(ids))
	for _, id := range ids {
		asked[strings.ToLower(id)] = id
	}
	got := make(map[string]Presence, len(out.Value))
	for _, w := range out.Value {
		// The docs do not say what happens to unknown ids; they are treated as absent, and an
		// answer for an id never asked about is ignored.
		if id, ok := asked[strings.ToLower(w.ID)]; ok {
			p := w.presence()
			p.ID = id
			got[id] = p
		}
	}
	return got, nil
}

func uniqueIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" || seen[strings.ToLower(id)] {
			continue
		}
		seen[strings.ToLower(id)] = true
		out = append(out, id)
	}
	return out
}

// SessionPresence is teamsface's own presence session for a user (setPresence).
type SessionPresence struct {
	SessionID    string        // the application's (client) id
	Availability string        // with Activity, one of the pairs ValidatePair accepts
	Activity     string        //
	Expiration   time.Duration // 5m..4h; 0 leaves Graph's default of 5 minutes
}

// Bounds of setPresence's expirationDuration (PT5M..PT4H).
const (
	MinSessionExpiration = 5 * time.Minute
	MaxSessionExpiration = 4 * time.Hour
)

// ErrInvalidPresence marks a presence that setPresence would refuse; checked before sending.
var ErrInvalidPresence = errors.New("invalid presence")

// setPresencePairs are the availability/activity pairs setPresence accepts (graph.md; the
// DoNotDisturb/Presenting pair comes from the newer docs).
var setPresencePairs = [][2]string{
	{"Available", "Available"},
	{"Busy", "InACall"},
	{"Busy", "InAConferenceCall"},
	{"Away", "Away"},
	{"DoNotDisturb", "Presenting"},
}

// ValidatePair checks that setPresence accepts availability/activity. The error wraps
// ErrInvalidPresence and lists the valid pairs.
func ValidatePair(availability, activity string) error {
	valid := make([]string, len(setPresencePairs))
	for i, p := range setPresencePairs {
		if p[0] == availability && p[1] == activity {
			return nil
		}
		valid[i] = p[0] + "/" + p[1]
	}
	return fmt.Errorf("%w: setPresence does not accept %s/%s; valid pairs: %s",
		ErrInvalidPresence, availability, activity, strings.Join(valid, ", "))
}

// SetPresence creates or refreshes teamsface's presence session for the user. The pair and the
// expiration are checked before anything is sent.
func (c *Client) SetPresence(ctx context.Context, userID string, p SessionPresence) error {
	op := "set presence for " + userID
	if err := validateSession(userID, p); err != nil {
		return wrapOp(op, err)
	}
	body := map[string]string{
		"sessionId":    p.SessionID,
		"availability": p.Availability,
		"activity":     p.Activity,
	}
	if p.Expiration != 0 {
		body["expirationDuration"] = isoDuration(p.Expiration)
	}
	r := call{method: http.MethodPost, url: c.presenceURL(userID, "setPresence"), body: body}
	return wrapOp(op, c.do(ctx, r, nil))
}

func validateSession(userID string, p SessionPresence) error {
	if strings.TrimSpace(userID) == "" {
		return fmt.Errorf("%w: empty user id", ErrInvalidPresence)
	}
	if strings.TrimSpace(p.SessionID) == "" {
		return fmt.Errorf("%w: empty session id", ErrInvalidPresence)
	}
	if err := ValidatePair(p.Availability, p.Activity); err != nil {
		return err
	}
	if p.Expiration != 0 && (p.Expiration < MinSessionExpiration || p.Expiration > MaxSessionExpiration) {
		return fmt.Errorf("%w: expiration %s is outside 5m..4h", ErrInvalidPresence, p.Expiration)
	}
	return nil
}

// ClearPresence ends teamsface's presence session for the user. Graph answers 404 when there is
// no such session (it expired, or was never set): the goal is reached, so that is not an error.
func (c *Client) ClearPresence(ctx context.Context, userID, sessionID string) error {
	op := "clear presence for " + userID
	if strings.TrimSpace(userID) == "" || strings.TrimSpace(sessionID) == "" {
		return wrapOp(op, errors.New("empty user or session id"))
	}
	r := call{
		method: http.MethodPost,
		url:    c.presenceURL(userID, "clearPresence"),
		body:   map[string]string{"sessionId": sessionID},
	}
	if err := c.do(ctx, r, nil); err != nil && !isNotFound(err) {
		return wrapOp(op, err)
	}
	return nil
}

func (c *Client) presenceURL(userID, action string) string {
	return c.url("/v1.0/users/"+url.PathEscape(userID)+"/presence/"+action, "")
}

// isoDuration formats d (whole seconds) as an ISO-8601 duration: 15m → PT15M, 1h30m → PT1H30M.
func isoDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	h := d / time.Hour
	m := (d % time.Hour) / time.Minute
	s := (d % time.Minute) / time.Second
	out := "PT"
	if h > 0 {
		out += fmt.Sprintf("%dH", h)
	}
	if m > 0 {
		out += fmt.Sprintf("%dM", m)
	}
	if s > 0 || (h == 0 && m == 0) {
		out += fmt.Sprintf("%dS", s)
	}
	return out
}
