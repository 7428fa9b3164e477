package onehubtest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/typespb"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/useridlookuppb"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// These tests drive the double with the generated client directly, so that it is checked
// against the description and not only through our client.

type fixture struct {
	rest   *starfacetest.Server
	oh     *onehubtest.Server
	lookup useridlookuppb.UserIdLookupServiceClient
	pres   presencepb.PresenceServiceClient
	tok    string
}

func newFixture(t *testing.T, o onehubtest.Options) *fixture {
	rest := starfacetest.NewServer()
	t.Cleanup(rest.Close)
	rest.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: "admin", Admin: true})
	rest.AddUser(starfacetest.User{ID: 2, Login: "0002", Password: "user"})
	oh := onehubtest.NewServer(rest, o)
	t.Cleanup(oh.Close)
	conn, err := grpc.NewClient(oh.Target(), grpc.WithTransportCredentials(credentials.NewTLS(oh.ClientTLSConfig())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &fixture{rest: rest, oh: oh, lookup: useridlookuppb.NewUserIdLookupServiceClient(conn),
		pres: presencepb.NewPresenceServiceClient(conn), tok: oh.IssueToken()}
}

func (f *fixture) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+f.tok)
}

func userList(ids ...string) *presencepb.SubscribePresenceStatesRequest_UserIdList {
	l := &presencepb.UserIdList{}
	for _, id := range ids {
		l.UserIds = append(l.UserIds, &typespb.UserId{Id: id})
	}
	return &presencepb.SubscribePresenceStatesRequest_UserIdList{UserIdList: l}
}

func TestBearerTokenRequired(t *testing.T) {
	expired := false
	f := newFixture(t, onehubtest.Options{CheckToken: func(tok string) error {
		if expired {
			return onehubtest.ErrTokenExpired
		}
		if tok != "good" {
			return errors.New("unknown")
		}
		return nil
	}})
	base, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := &useridlookuppb.BatchGetUserIdentifiersRequest{}
	tests := []struct {
		name    string
		md      []string
		expired bool
		code    codes.Code
		msg     string
	}{
		{"none", nil, false, codes.Unauthenticated, "missing bearer token in authorization metadata"},
		{"classic authToken", []string{"authtoken", "good"}, false, codes.Unauthenticated, "missing bearer token in authorization metadata"},
		{"basic", []string{"authorization", "Basic good"}, false, codes.Unauthenticated, "missing bearer token in authorization metadata"},
		{"invalid", []string{"authorization", "Bearer bad"}, false, codes.Unauthenticated, "invalid access token"},
		{"expired", []string{"authorization", "Bearer good"}, true, codes.Unauthenticated, "access token expired"},
		{"good", []string{"authorization", "Bearer good"}, false, codes.OK, ""},
		{"scheme in lower case", []string{"authorization", "bearer good"}, false, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expired = tt.expired
			ctx := base
			if tt.md != nil {
				ctx = metadata.AppendToOutgoingContext(ctx, tt.md...)
			}
			_, err := f.lookup.BatchGetUserIdentifiers(ctx, req)
			if st := status.Convert(err); st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("got %v %q, want %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}
	if calls := f.oh.Calls(); len(calls) != len(tests) || calls[3].Token != "bad" || calls[0].Token != "" {
		t.Errorf("call log %+v: want every call with the token as it came", calls)
	}
}

func TestLookupAnswers(t *testing.T) {
	f := newFixture(t, onehubtest.Options{})
	f.oh.SetEmptyUserID(2)
	acc := func(id string) *useridlookuppb.UserIdentifier {
		return &useridlookuppb.UserIdentifier{Identifier: &useridlookuppb.UserIdentifier_AccountId{AccountId: id}}
	}
	res, err := f.lookup.BatchGetUserIdentifiers(f.ctx(t), &useridlookuppb.BatchGetUserIdentifiersRequest{UserIdentifiers: []*useridlookuppb.UserIdentifier{
		acc("1"),
		acc("2"),
		acc("3"),    // unknown
		acc("0001"), // a login, not an id: unknown
		{Identifier: &useridlookuppb.UserIdentifier_UserId{UserId: &typespb.UserId{Id: f.oh.OneHubID(1)}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := res.GetUserIdentifiersList()
	if len(got) != 3 {
		t.Fatalf("%d answers, want 3 (unknown ids left out): %v", len(got), got)
	}
	if got[0].GetAccountId() != "1" || got[0].GetUserId().GetId() != f.oh.OneHubID(1) || got[0].GetOneHubUserId().GetId() == "" {
		t.Errorf("user 1: %v", got[0])
	}
	if got[1].GetAccountId() != "2" || got[1].GetUserId().GetId() != "" || got[1].GetOneHubUserId().GetId() != f.oh.OneHubID(2) {
		t.Errorf("user 2 (empty user_id): %v", got[1])
	}
	if got[2].GetAccountId() != "1" {
		t.Errorf("lookup by user_id: %v", got[2])
	}
}

func TestSubscribeRules(t *testing.T) {
	f := newFixture(t, onehubtest.Options{MaxIDs: 2})
	id1, id2 := f.oh.OneHubID(1), f.oh.OneHubID(2)
	ctx := f.ctx(t)
	tests := []struct {
		name string
		req  *presencepb.SubscribePresenceStatesRequest
		code codes.Code
	}{
		{"no list", &presencepb.SubscribePresenceStatesRequest{}, codes.InvalidArgument},
		{"groups", &presencepb.SubscribePresenceStatesRequest{PresenceIds: &presencepb.SubscribePresenceStatesRequest_GroupIdList{GroupIdList: &presencepb.GroupIdList{}}}, codes.Unimplemented},
		{"too many", &presencepb.SubscribePresenceStatesRequest{PresenceIds: userList(id1, id2, "x")}, codes.InvalidArgument},
		{"REST ids are not OneHub ids", &presencepb.SubscribePresenceStatesRequest{PresenceIds: userList("1", "2"), ReturnPresenceStates: true}, codes.OK},
	}
	for _, tt := range tests {
		res, err := f.pres.SubscribePresenceStates(ctx, tt.req)
		if status.Code(err) != tt.code {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.code)
		}
		if err == nil && len(res.GetPresenceStates()) != 0 {
			t.Errorf("%s: states of unknown ids: %v", tt.name, res)
		}
	}
	f.oh.AllowSubscriptionsOnly(1)
	if _, err := f.pres.SubscribePresenceStates(ctx, &presencepb.SubscribePresenceStatesRequest{PresenceIds: userList(id1, id2)}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("subscribing another user: %v, want permission denied", err)
	}
	if subs := f.oh.Subscriptions(); len(subs) != 0 {
		t.Errorf("a refused request subscribed %v", subs)
	}
	res, err := f.pres.SubscribePresenceStates(ctx, &presencepb.SubscribePresenceStatesRequest{PresenceIds: userList(id1)})
	if err != nil || len(res.GetPresenceStates()) != 0 {
		t.Errorf("own presence without return_presence_states: %v, %v", res, err)
	}
}

// The REST double's changes reach the stream: a phone config PUT through the real REST client,
// SetDND and call changes; nothing arrives before the first event, not even headers.
func TestEventsFromTheRESTDouble(t *testing.T) {
	f := newFixture(t, onehubtest.Options{})
	ctx := f.ctx(t)
	id2 := f.oh.OneHubID(2)

	stream, err := f.pres.SubscribePresenceEvents(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.oh.WaitStreams(ctx, 1); err != nil {
		t.Fatal(err)
	}
	headers := make(chan struct{})
	go func() {
		_, _ = stream.Header()
		close(headers)
	}()
	res, err := f.pres.SubscribePresenceStates(ctx, &presencepb.SubscribePresenceStatesRequest{PresenceIds: userList(id2), ReturnPresenceStates: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := res.GetPresenceStates()[0].GetUserPresenceState(); st.GetDndEnabled() || st.GetTelephonyState() != presencepb.TelephonyState_TELEPHONY_STATE_AVAILABLE {
		t.Errorf("initial state %v", st)
	}

	rc, err := starface.New(starface.Options{URL: f.rest.URL, Login: "0001", Password: "admin", HTTPClient: f.rest.Client()})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := rc.PhoneConfig(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	pc.DoNotDisturb = true
	if err := rc.PutPhoneConfig(ctx, 2, pc); err != nil { // a PUT through REST raises the event too
		t.Fatal(err)
	}
	f.rest.OnCall(2, true)
	f.rest.OnCall(1, true) // not subscribed
	f.rest.SetDND(2, false)

	want := []string{"presence_state_subscribed", "do_not_disturb_status_changed:true", "telephony_state_changed:TELEPHONY_STATE_ACTIVE", "do_not_disturb_status_changed:false"}
	for i, w := range want {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			<-headers // sent with the first event, not before
		}
		if got := describe(m, id2); got != w {
			t.Errorf("event %d: %s, want %s", i, got, w)
		}
	}
	if _, err := f.pres.UnsubscribePresenceStates(ctx, &presencepb.UnsubscribePresenceStatesRequest{PresenceIds: &presencepb.UnsubscribePresenceStatesRequest_UserIdList{UserIdList: userList(id2).UserIdList}}); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || describe(m, id2) != "presence_state_unsubscribed" {
		t.Errorf("after unsubscribing: %v, %v", m, err)
	}
	f.oh.DropStreams()
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("dropped stream: %v, want unavailable", err)
	}
}

func describe(m *presencepb.PresenceEventResponse, id string) string {
	switch e := m.GetPresenceEvent().(type) {
	case *presencepb.PresenceEventResponse_PresenceStateSubscribed:
		if e.PresenceStateSubscribed.GetPresenceState().GetUserPresenceState().GetUserId().GetId() == id {
			return "presence_state_subscribed"
		}
	case *presencepb.PresenceEventResponse_DoNotDisturbStatusChanged:
		if e.DoNotDisturbStatusChanged.GetUserId().GetId() == id {
			return "do_not_disturb_status_changed:" + map[bool]string{true: "true", false: "false"}[e.DoNotDisturbStatusChanged.GetDndEnabled()]
		}
	case *presencepb.PresenceEventResponse_TelephonyStateChanged:
		if e.TelephonyStateChanged.GetUserId().GetId() == id {
			return "telephony_state_changed:" + e.TelephonyStateChanged.GetTelephonyState().String()
		}
	case *presencepb.PresenceEventResponse_PresenceStateUnsubscribed:
		if e.PresenceStateUnsubscribed.GetUserId().GetId() == id {
			return "presence_state_unsubscribed"
		}
	}
	return "unexpected " + m.String()
}

func TestFaults(t *testing.T) {
	f := newFixture(t, onehubtest.Options{})
	f.oh.AddFault(onehubtest.Fault{Method: "BatchGetUserIdentifiers", Code: codes.Unavailable, Msg: "maintenance", Times: 1})
	ctx := f.ctx(t)
	req := &useridlookuppb.BatchGetUserIdentifiersRequest{}
	if _, err := f.lookup.BatchGetUserIdentifiers(ctx, req); status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "maintenance" {
		t.Errorf("first call: %v, want the injected fault", err)
	}
	if _, err := f.lookup.BatchGetUserIdentifiers(ctx, req); err != nil {
		t.Errorf("second call: %v, want the fault used up", err)
	}
	f.oh.AddFault(onehubtest.Fault{Delay: time.Hour})
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := f.lookup.BatchGetUserIdentifiers(short, req); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("delayed call: %v, want the client's deadline", err)
	}
	if n := f.oh.CountCalls("BatchGetUserIdentifiers"); n != 3 {
		t.Errorf("%d calls logged, want 3", n)
	}
}

func TestSubscribeNotifiesInOrder(t *testing.T) {
	rest := starfacetest.NewServer()
	defer rest.Close()
	rest.AddUser(starfacetest.User{ID: 1, Login: "0001"})
	var mu sync.Mutex
	var got []starfacetest.Change
	cancel := rest.Subscribe(func(c starfacetest.Change) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c)
	})
	rest.SetDND(1, true)
	rest.SetDND(1, true)
	rest.OnCall(1, true)
	rest.OnCall(1, true)
	rest.SetTelephonyState(99, starfacetest.TelephonyActive) // unknown user
	rest.SetDND(1, false)
	cancel()
	rest.SetDND(1, true)
	want := []starfacetest.Change{
		{UserID: 1, Kind: starfacetest.ChangeDND, DND: true},
		{UserID: 1, Kind: starfacetest.ChangeTelephony, Telephony: starfacetest.TelephonyActive},
		{UserID: 1, Kind: starfacetest.ChangeDND, DND: false},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("changes %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if p, ok := rest.PresenceOf(1); !ok || !p.DND || p.Telephony != starfacetest.TelephonyActive {
		t.Errorf("PresenceOf(1) = %+v, %v", p, ok)
	}
	if ps := rest.Presences(); len(ps) != 1 || ps[0].Login != "0001" {
		t.Errorf("Presences() = %+v", ps)
	}
}
