package onehubtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/typespb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/useridlookuppb"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

type lookupService struct {
	useridlookuppb.UnimplementedUserIdLookupServiceServer
	s *Server
}

// BatchGetUserIdentifiers answers each identifier it knows (account_id: the REST id as a
// decimal string; or a user_id / one_hub_user_id) with all three ids of that user.
func (l lookupService) BatchGetUserIdentifiers(_ context.Context, req *useridlookuppb.BatchGetUserIdentifiersRequest) (*useridlookuppb.BatchGetUserIdentifiersResponse, error) {
	s := l.s
	if err := s.checkLen(len(req.GetUserIdentifiers())); err != nil {
		return nil, err
	}
	res := &useridlookuppb.BatchGetUserIdentifiersResponse{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ui := range req.GetUserIdentifiers() {
		id, ok := 0, false
		switch v := ui.GetIdentifier().(type) {
		case *useridlookuppb.UserIdentifier_AccountId:
			// The REST id written as a decimal string, nothing else (not a login like "0001").
			if n, err := strconv.Atoi(v.AccountId); err == nil && strconv.Itoa(n) == v.AccountId {
				_, ok = s.rest.PresenceOf(n)
				id = n
			}
		case *useridlookuppb.UserIdentifier_UserId:
			id, ok = s.restIDLocked(v.UserId.GetId())
		case *useridlookuppb.UserIdentifier_OneHubUserId:
			id, ok = s.restIDLocked(v.OneHubUserId.GetId())
		default:
			return nil, status.Error(codes.InvalidArgument, "user identifier without account_id, user_id or one_hub_user_id")
		}
		if !ok {
			continue
		}
		out := &useridlookuppb.UserIdentifiers{
			AccountId:    strconv.Itoa(id),
			UserId:       &typespb.UserId{Id: userIDOf(id)},
			OneHubUserId: &typespb.UserId{Id: oneHubUserID(id)},
		}
		if s.emptyUserID[id] {
			out.UserId = &typespb.UserId{}
		}
		res.UserIdentifiersList = append(res.UserIdentifiersList, out)
	}
	return res, nil
}

func (s *Server) checkLen(n int) error {
	if s.opts.MaxIDs > 0 && n > s.opts.MaxIDs {
		return status.Error(codes.InvalidArgument, fmt.Sprintf("too many ids in one request: %d, at most %d", n, s.opts.MaxIDs))
	}
	return nil
}

type presenceService struct {
	presencepb.UnimplementedPresenceServiceServer
	s *Server
}

type idList interface {
	GetUserIdList() *presencepb.UserIdList
	GetGroupIdList() *presencepb.GroupIdList
}

// resolve checks a request's id list and maps it to REST ids; ids it does not know are left out.
func (s *Server) resolveLocked(req idList) ([]int, error) {
	ul := req.GetUserIdList()
	if ul == nil {
		if req.GetGroupIdList() != nil {
			return nil, status.Error(codes.Unimplemented, "group presence is not simulated")
		}
		return nil, status.Error(codes.InvalidArgument, "presence_ids: a user_id_list or group_id_list is required")
	}
	if err := s.checkLen(len(ul.GetUserIds())); err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(ul.GetUserIds()))
	for _, u := range ul.GetUserIds() {
		if id, ok := s.restIDLocked(u.GetId()); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (p presenceService) SubscribePresenceStates(_ context.Context, req *presencepb.SubscribePresenceStatesRequest) (*presencepb.SubscribePresenceStatesResponse, error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, err := s.resolveLocked(req)
	if err != nil {
		return nil, err
	}
	if s.allowed != nil {
		for _, id := range ids {
			if !s.allowed[id] {
				return nil, status.Error(codes.PermissionDenied, "not allowed to subscribe to the presence of user "+s.presenceIDLocked(id))
			}
		}
	}
	res := &presencepb.SubscribePresenceStatesResponse{}
	for _, id := range ids {
		st := s.userStateLocked(id)
		if st == nil {
			continue
		}
		if !s.subscribed[id] {
			s.subscribed[id] = true
			s.broadcastLocked(&presencepb.PresenceEventResponse{PresenceEvent: &presencepb.PresenceEventResponse_PresenceStateSubscribed{
				PresenceStateSubscribed: &presencepb.PresenceStateSubscribedEvent{PresenceState: st},
			}})
		}
		if req.GetReturnPresenceStates() {
			res.PresenceStates = append(res.PresenceStates, st)
		}
	}
	return res, nil
}

func (p presenceService) UnsubscribePresenceStates(_ context.Context, req *presencepb.UnsubscribePresenceStatesRequest) (*emptypb.Empty, error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, err := s.resolveLocked(req)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !s.subscribed[id] {
			continue
		}
		delete(s.subscribed, id)
		s.broadcastLocked(&presencepb.PresenceEventResponse{PresenceEvent: &presencepb.PresenceEventResponse_PresenceStateUnsubscribed{
			PresenceStateUnsubscribed: &presencepb.PresenceStateUnsubscribedEvent{
				Target: &presencepb.PresenceStateUnsubscribedEvent_UserId{UserId: &typespb.UserId{Id: s.presenceIDLocked(id)}},
			},
		}})
	}
	return &emptypb.Empty{}, nil
}

// userStateLocked is the user's presence as OneHub reports it, nil for an unknown user.
func (s *Server) userStateLocked(restID int) *presencepb.PresenceState {
	p, ok := s.rest.PresenceOf(restID)
	if !ok {
		return nil
	}
	chat := presencepb.ChatState_CHAT_STATE_AVAILABLE
	if p.DND {
		chat = presencepb.ChatState_CHAT_STATE_DO_NOT_DISTURB
	}
	return &presencepb.PresenceState{PresenceState: &presencepb.PresenceState_UserPresenceState{
		UserPresenceState: &presencepb.UserPresenceState{
			UserId:         &typespb.UserId{Id: s.presenceIDLocked(restID)},
			TelephonyState: telephonyOf(p.Telephony),
			ChatState:      chat,
			DndEnabled:     p.DND,
		},
	}}
}

func telephonyOf(t starfacetest.TelephonyState) presencepb.TelephonyState {
	switch t {
	case starfacetest.TelephonyUnavailable:
		return presencepb.TelephonyState_TELEPHONY_STATE_UNAVAILABLE
	case starfacetest.TelephonyAvailable:
		return presencepb.TelephonyState_TELEPHONY_STATE_AVAILABLE
	case starfacetest.TelephonyRinging:
		return presencepb.TelephonyState_TELEPHONY_STATE_RINGING
	case starfacetest.TelephonyActive:
		return presencepb.TelephonyState_TELEPHONY_STATE_ACTIVE
	case starfacetest.TelephonyQueuePause:
		return presencepb.TelephonyState_TELEPHONY_STATE_QUEUE_PAUSE
	}
	return presencepb.TelephonyState_TELEPHONY_STATE_UNSPECIFIED
}

// changed is the REST double telling of a user's DND or call change: subscribed users' changes
// go to every open stream.
func (s *Server) changed(c starfacetest.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.subscribed[c.UserID] {
		return
	}
	uid := &typespb.UserId{Id: s.presenceIDLocked(c.UserID)}
	var ev *presencepb.PresenceEventResponse
	switch c.Kind {
	case starfacetest.ChangeDND:
		ev = &presencepb.PresenceEventResponse{PresenceEvent: &presencepb.PresenceEventResponse_DoNotDisturbStatusChanged{
			DoNotDisturbStatusChanged: &presencepb.DoNotDisturbStatusChangedEvent{UserId: uid, DndEnabled: c.DND},
		}}
	case starfacetest.ChangeTelephony:
		ev = &presencepb.PresenceEventResponse{PresenceEvent: &presencepb.PresenceEventResponse_TelephonyStateChanged{
			TelephonyStateChanged: &presencepb.TelephonyStateChangedEvent{
				Target:         &presencepb.TelephonyStateChangedEvent_UserId{UserId: uid},
				TelephonyState: telephonyOf(c.Telephony),
			},
		}}
	default:
		return
	}
	s.broadcastLocked(ev)
}

func (s *Server) broadcastLocked(ev *presencepb.PresenceEventResponse) {
	for st := range s.streams {
		st.push(ev)
	}
}

// eventStream is one open SubscribePresenceEvents call: an unbounded queue (a slow client must
// not block the test that changes a user) and the signals to send or drop.
type eventStream struct {
	mu       sync.Mutex
	queue    []*presencepb.PresenceEventResponse
	signal   chan struct{} // one pending wake-up
	drop     chan struct{}
	dropOnce sync.Once
}

func (e *eventStream) push(ev *presencepb.PresenceEventResponse) {
	e.mu.Lock()
	e.queue = append(e.queue, ev)
	e.mu.Unlock()
	select {
	case e.signal <- struct{}{}:
	default:
	}
}

func (e *eventStream) take() []*presencepb.PresenceEventResponse {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queue
	e.queue = nil
	return q
}

// SubscribePresenceEvents sends nothing, headers included, until the first event: that is how
// the observed PBX behaves, and why a client must not wait for the stream before subscribing.
func (p presenceService) SubscribePresenceEvents(_ *emptypb.Empty, ss grpc.ServerStreamingServer[presencepb.PresenceEventResponse]) error {
	s := p.s
	st := &eventStream{signal: make(chan struct{}, 1), drop: make(chan struct{})}
	s.setStream(st, true)
	defer s.setStream(st, false)
	for {
		select {
		case <-ss.Context().Done():
			return status.FromContextError(ss.Context().Err()).Err()
		case <-st.drop:
			return status.Error(codes.Unavailable, "event stream dropped")
		case <-st.signal:
			for _, ev := range st.take() {
				if err := ss.Send(ev); err != nil {
					return err
				}
			}
		}
	}
}

func (s *Server) setStream(st *eventStream, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if open {
		s.streams[st] = true
	} else {
		delete(s.streams, st)
	}
	close(s.streamsChg)
	s.streamsChg = make(chan struct{})
}
