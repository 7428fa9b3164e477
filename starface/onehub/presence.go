package onehub

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"

	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/typespb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/useridlookuppb"
)

// TelephonyState is a user's call state; the values are OneHub's TELEPHONY_STATE_* numbers.
// Values a later release adds are kept as they came.
type TelephonyState int32

const (
	TelephonyUnspecified TelephonyState = 0
	TelephonyUnavailable TelephonyState = 1 // no phone registered
	TelephonyAvailable   TelephonyState = 2
	TelephonyRinging     TelephonyState = 3
	TelephonyActive      TelephonyState = 4 // on a call
	TelephonyQueuePause  TelephonyState = 5
)

// OnCall reports whether the user is on a call (TELEPHONY_STATE_ACTIVE).
func (t TelephonyState) OnCall() bool { return t == TelephonyActive }

// String is the state's name in lower case, e.g. "active", or "telephony_state_7".
func (t TelephonyState) String() string {
	if name, ok := presencepb.TelephonyState_name[int32(t)]; ok {
		return strings.ToLower(strings.TrimPrefix(name, "TELEPHONY_STATE_"))
	}
	return fmt.Sprintf("telephony_state_%d", int32(t))
}

// UserState is what OneHub reports of one user.
type UserState struct {
	DND       bool
	Telephony TelephonyState
	Chat      string // the chat state in lower case ("available", "away", "do_not_disturb", ...); read only
	Redirect  bool   // call forwarding on
}

func chatText(c presencepb.ChatState) string {
	if name, ok := presencepb.ChatState_name[int32(c)]; ok {
		return strings.ToLower(strings.TrimPrefix(name, "CHAT_STATE_"))
	}
	return fmt.Sprintf("chat_state_%d", int32(c))
}

func userState(p *presencepb.UserPresenceState) UserState {
	return UserState{
		DND:       p.GetDndEnabled(),
		Telephony: TelephonyState(p.GetTelephonyState()),
		Chat:      chatText(p.GetChatState()),
		Redirect:  p.GetRedirectEnabled(),
	}
}

// LookupIDs maps REST user ids (decimal strings, /rest/users → id) to OneHub user ids with
// BatchGetUserIdentifiers, Options.ChunkSize ids per request. As the observed client does, it
// takes user_id and falls back to one_hub_user_id when user_id is empty. Ids OneHub does not
// know are missing from the map. Cache the answer with the user match: it changes only when
// users do.
func (c *Client) LookupIDs(ctx context.Context, accountIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(accountIDs))
	for _, chunk := range chunks(unique(accountIDs), c.chunk) {
		req := &useridlookuppb.BatchGetUserIdentifiersRequest{}
		for _, id := range chunk {
			req.UserIdentifiers = append(req.UserIdentifiers, &useridlookuppb.UserIdentifier{
				Identifier: &useridlookuppb.UserIdentifier_AccountId{AccountId: id},
			})
		}
		var res *useridlookuppb.BatchGetUserIdentifiersResponse
		err := c.call(ctx, "look up user ids", "BatchGetUserIdentifiers", len(chunk), func(ctx context.Context, opts ...grpc.CallOption) error {
			var err error
			res, err = c.lookup.BatchGetUserIdentifiers(ctx, req, opts...)
			return err
		})
		if err != nil {
			return nil, err
		}
		wanted := make(map[string]bool, len(chunk))
		for _, id := range chunk {
			wanted[id] = true
		}
		for _, ids := range res.GetUserIdentifiersList() {
			oh := ids.GetUserId().GetId()
			if oh == "" {
				oh = ids.GetOneHubUserId().GetId()
			}
			if acc := ids.GetAccountId(); wanted[acc] && oh != "" {
				out[acc] = oh
			}
		}
	}
	return out, nil
}

// ReadPresence reads the current state of these users (OneHub ids from LookupIDs) once: per
// chunk of up to ChunkSize ids, SubscribePresenceStates with return_presence_states, then
// UnsubscribePresenceStates with the same list. 1,000 users cost two requests. Users OneHub
// left out of its answer are missing from the map (the caller keeps what it had). A failed
// unsubscribe is logged, not returned: the states were read.
//
// Whether subscriptions belong to the signed-in user or to one connection is unknown; if they
// are the user's, this unsubscribe also ends a Watch of the same users under the same sign-in,
// so do not run both for the same users at once.
func (c *Client) ReadPresence(ctx context.Context, oneHubIDs []string) (map[string]UserState, error) {
	out := make(map[string]UserState, len(oneHubIDs))
	for _, chunk := range chunks(unique(oneHubIDs), c.chunk) {
		states, err := c.subscribe(ctx, chunk, true)
		if err != nil {
			return nil, err
		}
		for id, st := range states {
			out[id] = st
		}
		if err := c.unsubscribe(ctx, chunk); err != nil {
			c.log.Warn("onehub: unsubscribe after reading presence failed", "ids", len(chunk), "err", err)
		}
	}
	return out, nil
}

// subscribe subscribes to these users' presence; with states it returns their current states
// (only those of the listed users).
func (c *Client) subscribe(ctx context.Context, ids []string, states bool) (map[string]UserState, error) {
	req := &presencepb.SubscribePresenceStatesRequest{
		PresenceIds:          &presencepb.SubscribePresenceStatesRequest_UserIdList{UserIdList: userIDList(ids)},
		ReturnPresenceStates: states,
	}
	var res *presencepb.SubscribePresenceStatesResponse
	err := c.call(ctx, "subscribe presence states", "SubscribePresenceStates", len(ids), func(ctx context.Context, opts ...grpc.CallOption) error {
		var err error
		res, err = c.presence.SubscribePresenceStates(ctx, req, opts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	wanted := make(map[string]bool, len(ids))
	for _, id := range ids {
		wanted[id] = true
	}
	out := make(map[string]UserState, len(ids))
	for _, ps := range res.GetPresenceStates() {
		u := ps.GetUserPresenceState()
		if id := u.GetUserId().GetId(); u != nil && wanted[id] {
			out[id] = userState(u)
		}
	}
	return out, nil
}

func (c *Client) unsubscribe(ctx context.Context, ids []string) error {
	req := &presencepb.UnsubscribePresenceStatesRequest{
		PresenceIds: &presencepb.UnsubscribePresenceStatesRequest_UserIdList{UserIdList: userIDList(ids)},
	}
	return c.call(ctx, "unsubscribe presence states", "UnsubscribePresenceStates", len(ids), func(ctx context.Context, opts ...grpc.CallOption) error {
		_, err := c.presence.UnsubscribePresenceStates(ctx, req, opts...)
		return err
	})
}

func userIDList(ids []string) *presencepb.UserIdList {
	l := &presencepb.UserIdList{UserIds: make([]*typespb.UserId, len(ids))}
	for i, id := range ids {
		l.UserIds[i] = &typespb.UserId{Id: id}
	}
	return l
}

// unique drops empty and repeated ids, keeping the order.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func chunks(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > 0 {
		k := min(n, len(ids))
		out = append(out, ids[:k:k])
		ids = ids[k:]
	}
	return out
}
