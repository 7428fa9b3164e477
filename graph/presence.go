package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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
	// mailbox), or sent something else in their place: the activity alone decides then. The
	// settings' message, the user's automatic reply, is not kept. Use OutOfOffice to decide.
	IsOutOfOffice bool `json:"-"`
}

// OutOfOffice reports whether Microsoft says the user is out of office: isOutOfOffice, or the
// activity OutOfOffice (graph.md: either may be true without the other).
func (p Presence) OutOfOffice() bool { return p.IsOutOfOffice || p.Activity == "OutOfOffice" }

// presenceWire is the presence object's fields without Presence's methods (so that decoding it
// does not recurse into UnmarshalJSON).
type presenceWire Presence

// UnmarshalJSON decodes a presence leniently: outOfOfficeSettings is read only for its
// isOutOfOffice, and a settings value of another shape is ignored rather than failing the
// whole answer, which carries up to 650 users.
func (p *Presence) UnmarshalJSON(b []byte) error {
	var w struct {
		presenceWire
		OutOfOfficeSettings json.RawMessage `json:"outOfOfficeSettings"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = Presence(w.presenceWire)
	var ooo struct {
		IsOutOfOffice *bool `json:"isOutOfOffice"`
	}
	if len(w.OutOfOfficeSettings) > 0 && json.Unmarshal(w.OutOfOfficeSettings, &ooo) == nil && ooo.IsOutOfOffice != nil {
		p.IsOutOfOffice = *ooo.IsOutOfOffice
	}
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

// MaxPresenceIDs is getPresencesByUserId's documented limit per request: GetPresences sends
// one request per MaxPresenceIDs ids.
const MaxPresenceIDs = 650

// GetPresences reads the presence of many users by object id, in ceil(n/650) requests with at
// most Options.Concurrency in flight. Duplicate and empty ids are dropped first; zero ids make
// no request.
//
// A failed request (after its retries) does not stop the others: the error names the failed id
// ranges and the result holds what the other requests returned, so that a pass can go on with
// them. Ids of a failed range are in neither Presences nor Missing.
//
// Two things do stop the requests not yet sent, and cancel those in flight: a 401/403 (the
// token or a permission is refused, so every other request would be refused too, and the run
// ends with exit code 4 anyway) and the end of ctx.
func (c *Client) GetPresences(ctx context.Context, ids []string) (PresenceResult, error) {
	ids = uniqueIDs(ids)
	res := PresenceResult{Presences: make(map[string]Presence, len(ids))}
	if len(ids) == 0 {
		return res, nil
	}
	type chunk struct {
		first int // index into ids
		ids   []string
		sent  bool
		got   map[string]Presence
		err   error
	}
	var chunks []*chunk
	for i := 0; i < len(ids); i += MaxPresenceIDs {
		chunks = append(chunks, &chunk{first: i, ids: ids[i:min(i+MaxPresenceIDs, len(ids))]})
	}

	// Only a refusal is returned to the group, so only a refusal (or the end of ctx) cancels
	// gctx; every other failure stays with its chunk.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.concurrency)
	var finished atomic.Int64
	for _, ch := range chunks {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if gctx.Err() != nil {
				return nil // refused elsewhere, or the caller gave up while this one waited
			}
			ch.sent = true
			ch.got, ch.err = c.presenceChunk(gctx, ch.ids)
			switch {
			case ch.err == nil:
				reportProgress(ctx, int(finished.Add(1)), len(chunks))
			case IsAuth(ch.err):
				return ch.err
			}
			return nil
		})
	}
	refused := g.Wait() != nil

	var errs []error
	unsent := 0
	for _, ch := range chunks {
		switch {
		case !ch.sent:
			unsent++
		case ch.err != nil:
			// A request cut short because another one was refused adds nothing to that refusal.
			if refused && ctx.Err() == nil && errors.Is(ch.err, context.Canceled) {
				continue
			}
			op := fmt.Sprintf("get presences (ids %d-%d)", ch.first+1, ch.first+len(ch.ids))
			errs = append(errs, wrapOp(op, ch.err))
		default:
			for _, id := range ch.ids {
				if p, ok := ch.got[id]; ok {
					res.Presences[id] = p
				} else {
					res.Missing = append(res.Missing, id)
				}
			}
		}
	}
	if unsent > 0 && !refused {
		// Only the end of ctx leaves requests unsent without a refusal to report.
		errs = append(errs, wrapOp("get presences", fmt.Errorf("%d of %d requests not sent: %w",
			unsent, len(chunks), context.Cause(ctx))))
	}
	return res, errors.Join(errs...)
}

// presenceChunk makes one getPresencesByUserId request and maps the answers back to the ids as
// asked (object ids are GUIDs; Graph may answer them in another letter case).
func (c *Client) presenceChunk(ctx context.Context, ids []string) (map[string]Presence, error) {
	var out struct {
		Value []Presence `json:"value"`
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
	for _, p := range out.Value {
		// The docs do not say what happens to unknown ids; they are treated as absent, and an
		// answer for an id never asked about is ignored.
		if id, ok := asked[strings.ToLower(p.ID)]; ok {
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
