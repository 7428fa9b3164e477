package onehub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/teamsface/teamsface/internal/ctxtime"
	"github.com/teamsface/teamsface/starface/onehub/internal/pb/presencepb"
)

// levelTrace is teamsface's trace level (cmd's --log-level trace).
const levelTrace = slog.Level(-8)

// EventKind says what an Event reports.
type EventKind int

const (
	// EventState is a user's state: DND, call state or both are set.
	EventState EventKind = iota + 1
	// EventConnected: the stream is open and the users are subscribed; from now on changes
	// arrive as they happen. Stop reading over REST.
	EventConnected
	// EventDisconnected: the stream broke or could not be set up (Err says why). Watch retries
	// with backoff; read over REST until the next EventConnected. Sent once per outage.
	EventDisconnected
)

// Event is what Watch delivers.
type Event struct {
	Kind      EventKind
	OneHubID  string          // EventState: whose state
	DND       *bool           // EventState: set when the event tells the DND
	Telephony *TelephonyState // EventState: set when the event tells the call state
	Initial   bool            // EventState: the state when subscribing, not a change
	Err       error           // EventDisconnected: why (an *Error)
	At        time.Time       // when the client received it (Options.Now)
}

// Watch streams the DND and call state of these users (OneHub ids) to events until ctx ends,
// then unsubscribes (best effort) and returns nil. It does what starface-onehub.md describes:
// open SubscribePresenceEvents first and read it, without waiting for it (the observed PBX sends
// nothing until its first event); then subscribe, in chunks, asking for the current states,
// which arrive as Initial events; then EventConnected and the changes as they come. Events the
// stream delivers while subscribing are passed on after the current states, so a change is never
// overwritten by an older state. A broken stream or a refused subscription is reported as one
// EventDisconnected per outage, and Watch reconnects and subscribes again after a backoff (1s
// doubling up to 30s, each up to a fifth shorter at random). A stream refused with UNAUTHENTICATED drops that token and
// reconnects at once with a fresh one.
//
// Watch blocks while events is full; read it promptly.
func (c *Client) Watch(ctx context.Context, oneHubIDs []string, events chan<- Event) error {
	w := &watcher{c: c, ids: unique(oneHubIDs), events: events}
	w.want = make(map[string]bool, len(w.ids))
	for _, id := range w.ids {
		w.want[id] = true
	}
	failures := 0
	down := false    // an EventDisconnected was sent and no EventConnected since
	refused := false // the last attempt's token was refused
	for {
		w.up = false
		err := w.session(ctx, failures > 0)
		if ctx.Err() != nil {
			return nil
		}
		if w.up {
			failures, down = 0, false
		}
		failures++
		c.log.Debug("onehub event stream down", "err", err, "failures", failures)
		// A refused token is dropped and the stream reopened at once with a fresh one, without
		// an outage being reported: the new subscription's states cover the moment between.
		// Only when that fails too is it an outage.
		refresh := IsUnauthenticated(err) && !refused
		refused = IsUnauthenticated(err)
		if !refresh && !down {
			down = true
			if !w.emit(ctx, Event{Kind: EventDisconnected, Err: err}) {
				return nil
			}
		}
		if !refresh && ctxtime.Sleep(ctx, reconnectBackoff(failures)) != nil {
			return nil
		}
		// gRPC keeps its own backoff for a connection that failed; our pacing decides when to
		// try again, so let it connect now (and session waits for that connection).
		c.conn.ResetConnectBackoff()
		c.nReconnects.Add(1)
	}
}

type watcher struct {
	c      *Client
	ids    []string
	want   map[string]bool
	events chan<- Event
	up     bool // this session sent EventConnected
}

// connectWait bounds how long a reconnect waits for the connection before it counts as failed.
const connectWait = 20 * time.Second

// session opens the stream, subscribes and passes events on until the stream breaks (its
// error) or ctx ends (nil, after unsubscribing). On a reconnect it waits up to connectWait for
// the connection: gRPC otherwise refuses calls at once while the failure of its previous attempt
// stands, and a reconnect right after the PBX came back would fail for nothing.
func (w *watcher) session(ctx context.Context, reconnect bool) error {
	c := w.c
	const op = "subscribe presence events"
	tok, err := c.tokens.AccessToken(ctx)
	if err != nil {
		return &Error{Op: op, Code: codes.Unauthenticated, Msg: "get access token", Err: err}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.nCalls.Add(1)
	stream, err := c.openEvents(sctx, cancel, tok, reconnect)
	if err != nil {
		c.nFailed.Add(1)
		return w.streamError(ctx, op, tok, err)
	}
	raw := make(chan *presencepb.PresenceEventResponse, 64)
	broken := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				broken <- err
				return
			}
			c.nEvents.Add(1)
			select {
			case raw <- m:
			case <-sctx.Done():
				return
			}
		}
	}()

	subscribed, err := w.subscribeAll(ctx)
	if err != nil {
		if ctx.Err() != nil {
			w.unsubscribe(ctx, subscribed)
		}
		return err
	}
	// A stream refused at once (an expired token) has usually said so by now: reconnect
	// without announcing a connection that is already gone.
	select {
	case err := <-broken:
		broken <- err
	default:
		w.up = true
		if !w.emit(ctx, Event{Kind: EventConnected}) {
			w.unsubscribe(ctx, subscribed)
			return nil
		}
	}
	for {
		select {
		case <-ctx.Done():
			w.unsubscribe(ctx, subscribed)
			return nil
		case m := <-raw:
			if !w.deliver(ctx, m) {
				w.unsubscribe(ctx, subscribed)
				return nil
			}
		case err := <-broken:
			if ctx.Err() != nil {
				w.unsubscribe(ctx, subscribed)
				return nil
			}
			c.nFailed.Add(1)
			if errors.Is(err, io.EOF) {
				return &Error{Op: op, Code: codes.Unavailable, Msg: "the server ended the event stream"}
			}
			return w.streamError(ctx, op, tok, err)
		}
	}
}

// openEvents opens SubscribePresenceEvents. It is the generated client's method except for two
// things. With wait, it waits up to connectWait for a connection (cancelling ctx when that
// runs out). And when the server has already ended the stream (a refused token) before the
// request went out, SendMsg says only io.EOF: the status is left for Recv to report, not lost.
func (c *Client) openEvents(ctx context.Context, cancel context.CancelFunc, tok string, wait bool) (grpc.ServerStreamingClient[presencepb.PresenceEventResponse], error) {
	opts := []grpc.CallOption{grpc.PerRPCCredentials(bearer(tok))}
	if wait {
		opts = append(opts, grpc.WaitForReady(true))
		timer := time.AfterFunc(connectWait, cancel)
		defer timer.Stop()
	}
	desc := &presencepb.PresenceService_ServiceDesc.Streams[0]
	cs, err := c.conn.NewStream(ctx, desc, presencepb.PresenceService_SubscribePresenceEvents_FullMethodName, opts...)
	if err != nil {
		if wait && ctx.Err() != nil {
			return nil, status.Error(codes.Unavailable, "no connection within "+connectWait.String())
		}
		return nil, err
	}
	if err := cs.SendMsg(&emptypb.Empty{}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[emptypb.Empty, presencepb.PresenceEventResponse]{ClientStream: cs}, nil
}

// subscribeAll subscribes to every user in chunks and emits their current states. It returns
// the chunks subscribed so far.
func (w *watcher) subscribeAll(ctx context.Context) ([][]string, error) {
	var done [][]string
	for _, chunk := range chunks(w.ids, w.c.chunk) {
		states, err := w.c.subscribe(ctx, chunk, true)
		if err != nil {
			return done, err
		}
		done = append(done, chunk)
		for _, id := range chunk {
			st, ok := states[id]
			if !ok {
				continue
			}
			if !w.emit(ctx, stateEvent(id, &st.DND, &st.Telephony, true)) {
				return done, ctx.Err()
			}
		}
	}
	return done, nil
}

// streamError wraps the stream's error; UNAUTHENTICATED drops the token the stream used.
func (w *watcher) streamError(ctx context.Context, op, tok string, err error) error {
	e := w.c.wrap(ctx, op, err)
	if e.Code == codes.Unauthenticated {
		w.c.tokens.InvalidateAccessToken(tok)
		w.c.nRefreshes.Add(1)
	}
	return e
}

// unsubscribe ends the subscriptions when Watch stops, best effort: ctx has ended, so it gets a
// few seconds of its own.
func (w *watcher) unsubscribe(ctx context.Context, subscribed [][]string) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, chunk := range subscribed {
		if err := w.c.unsubscribe(uctx, chunk); err != nil {
			w.c.log.Debug("onehub: unsubscribe when stopping failed", "ids", len(chunk), "err", err)
			return
		}
	}
}

// deliver passes one stream message on as an Event when it concerns a watched user's DND or
// call state; it reports false when ctx ended.
func (w *watcher) deliver(ctx context.Context, m *presencepb.PresenceEventResponse) bool {
	var ev Event
	switch e := m.GetPresenceEvent().(type) {
	case *presencepb.PresenceEventResponse_PresenceStateSubscribed:
		u := e.PresenceStateSubscribed.GetPresenceState().GetUserPresenceState()
		if u == nil {
			return true
		}
		st := userState(u)
		ev = stateEvent(u.GetUserId().GetId(), &st.DND, &st.Telephony, true)
	case *presencepb.PresenceEventResponse_TelephonyStateChanged:
		id := e.TelephonyStateChanged.GetUserId().GetId() // "" for a group's state
		t := TelephonyState(e.TelephonyStateChanged.GetTelephonyState())
		ev = stateEvent(id, nil, &t, false)
	case *presencepb.PresenceEventResponse_DoNotDisturbStatusChanged:
		on := e.DoNotDisturbStatusChanged.GetDndEnabled()
		ev = stateEvent(e.DoNotDisturbStatusChanged.GetUserId().GetId(), &on, nil, false)
	default:
		w.c.log.Log(ctx, levelTrace, "onehub event ignored", "event", eventName(m))
		return true
	}
	if !w.want[ev.OneHubID] {
		return true
	}
	w.c.log.Log(ctx, levelTrace, "onehub event", "user", ev.OneHubID, "event", eventName(m))
	return w.emit(ctx, ev)
}

func stateEvent(id string, dnd *bool, t *TelephonyState, initial bool) Event {
	return Event{Kind: EventState, OneHubID: id, DND: dnd, Telephony: t, Initial: initial}
}

func eventName(m *presencepb.PresenceEventResponse) string {
	if m.GetPresenceEvent() == nil {
		return "unknown"
	}
	return string(m.ProtoReflect().WhichOneof(m.ProtoReflect().Descriptor().Oneofs().ByName("presence_event")).Name())
}

// emit sends one event, stamped with the time; false when ctx ended first.
func (w *watcher) emit(ctx context.Context, ev Event) bool {
	ev.At = w.c.now()
	select {
	case w.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
