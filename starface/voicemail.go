package starface

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/sync/errgroup"
)

// Voicemail boxes, the target of `out_of_office.redirect: voicemail`. A user's own box is the
// one whose voicemailUsers include the user's REST id (../shared/api/starface.md), which only
// the box's detail shows. The detail also holds the box's password (its PIN): it is dropped
// while decoding (the decoder has no field for it), the answer's bytes are cleared once
// decoded, and no value of this package ever holds it, so it can reach neither a log nor a
// file.

// VoicemailBox is a voicemail box as teamsface needs it: never its password.
type VoicemailBox struct {
	ID       int    // the box's id; MailboxDestination(ID) redirects to it
	Name     string // its name
	Number   string // its number
	UserIDs  []int  // voicemailUsers[].accountId: the REST ids of the users it belongs to
	GroupIDs []int  // voicemailGroups[].accountId
}

// OwnBoxes maps each user's REST id to the ids of the boxes that belong to them, in the order
// of boxes, in one walk over them. teamsface redirects only to a user's one own box: the caller
// decides what none or several mean.
func OwnBoxes(boxes []VoicemailBox) map[int][]int {
	own := map[int][]int{}
	for _, b := range boxes {
		for _, u := range b.UserIDs {
			if ids := own[u]; len(ids) == 0 || ids[len(ids)-1] != b.ID { // a user listed twice in one box
				own[u] = append(ids, b.ID)
			}
		}
	}
	return own
}

// VoicemailBoxes lists the boxes the signed-in login can access (for an administrator: all)
// with their users: GET /rest/voicemailboxes, then GET /rest/voicemailboxes/{id} for each box,
// Options.Concurrency at a time (only the detail names a box's users; the caller caches the
// result with the user match). The Swagger file
// gives these calls no actOnBehalfOf: the administrator's view is the one there is. A box that
// is gone by the time its detail is read (404) is left out.
func (c *Client) VoicemailBoxes(ctx context.Context) ([]VoicemailBox, error) {
	b, err := c.do(ctx, http.MethodGet, "/rest/voicemailboxes", nil)
	var ids []int
	if err == nil {
		ids, err = decodeVoicemailList(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: list voicemail boxes: %w", err)
	}
	got := make([]*VoicemailBox, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(c.concurrency, 1))
	for i, id := range ids {
		g.Go(func() error {
			box, err := c.VoicemailBox(gctx, id)
			var se *Error
			if errors.As(err, &se) && se.Status == http.StatusNotFound {
				return nil
			}
			if err != nil {
				return err
			}
			got[i] = &box
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	boxes := make([]VoicemailBox, 0, len(ids))
	for _, b := range got {
		if b != nil {
			boxes = append(boxes, *b)
		}
	}
	return boxes, nil
}

// VoicemailBox reads one box's detail (GET /rest/voicemailboxes/{id}), without its password.
func (c *Client) VoicemailBox(ctx context.Context, id int) (VoicemailBox, error) {
	b, err := c.do(ctx, http.MethodGet, "/rest/voicemailboxes/"+strconv.Itoa(id), nil)
	var box VoicemailBox
	if err == nil {
		box, err = decodeVoicemailBox(b)
		clear(b) // the answer holds the box's password
	}
	if err != nil {
		return VoicemailBox{}, fmt.Errorf("starface: get voicemail box %d: %w", id, err)
	}
	return box, nil
}

// decodeVoicemailList reads GET /rest/voicemailboxes: VoicemailboxListItems, of which the ids
// are kept (the detail has the rest). An entry without an id is refused: the box behind it
// could be a user's own.
func decodeVoicemailList(b []byte) ([]int, error) {
	var wire []*struct {
		ID *int `json:"id"`
	}
	if err := decodeAnswer(b, &wire); err != nil {
		return nil, err
	}
	ids := make([]int, len(wire))
	for i, w := range wire {
		if w == nil || w.ID == nil {
			return nil, fmt.Errorf("decode answer: voicemail box %d of %d has no id", i+1, len(wire))
		}
		ids[i] = *w.ID
	}
	return ids, nil
}

// voicemailAccount is a VoicemailUser or VoicemailGroup as far as teamsface reads it.
type voicemailAccount struct {
	AccountID *int `json:"accountId"`
}

// voicemailBoxWire is the Voicemailbox schema without password, maximumDuration and noRecord:
// encoding/json skips what a struct has no field for, so the password is never copied out of
// the answer.
type voicemailBoxWire struct {
	ID              *int                `json:"id"`
	Name            string              `json:"name"`
	Number          string              `json:"number"`
	VoicemailUsers  []*voicemailAccount `json:"voicemailUsers"`
	VoicemailGroups []*voicemailAccount `json:"voicemailGroups"`
}

// decodeVoicemailBox reads GET /rest/voicemailboxes/{id}. Users and groups without an
// accountId are skipped: they cannot be anyone's. A refusal says which field was wrong but
// never quotes the answer, which holds the password (encoding/json's syntax errors quote a
// character of it).
func decodeVoicemailBox(b []byte) (VoicemailBox, error) {
	var w voicemailBoxWire
	if len(bytes.TrimSpace(b)) == 0 || isNull(b) {
		return VoicemailBox{}, errors.New("empty answer")
	}
	if err := json.Unmarshal(b, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return VoicemailBox{}, fmt.Errorf("decode answer: voicemail box field %s holds a JSON %s", te.Field, te.Value)
		}
		return VoicemailBox{}, errors.New("decode answer: not a voicemail box object")
	}
	if w.ID == nil {
		return VoicemailBox{}, errors.New("decode answer: the voicemail box has no id")
	}
	box := VoicemailBox{ID: *w.ID, Name: w.Name, Number: w.Number}
	for _, u := range w.VoicemailUsers {
		if u != nil && u.AccountID != nil {
			box.UserIDs = append(box.UserIDs, *u.AccountID)
		}
	}
	for _, g := range w.VoicemailGroups {
		if g != nil && g.AccountID != nil {
			box.GroupIDs = append(box.GroupIDs, *g.AccountID)
		}
	}
	return box, nil
}
