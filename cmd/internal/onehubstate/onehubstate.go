// Package onehubstate gives the sync pass every matched user's STARFACE DND and call state from
// STARFACE 10's OneHub (experimental, opt-in): in one read per pass for `sync once`, or from the
// event stream that `sync watch` keeps open, which also wakes the loop as soon as a call starts
// or a DND changes. It adapts starface/onehub to pass.OneHub; when OneHub cannot be reached
// or refuses, States fails and the pass reads over REST instead.
package onehubstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/starface/onehub"
)

// Client is what this package needs of OneHub (starface/onehub.Client).
type Client interface {
	LookupIDs(ctx context.Context, accountIDs []string) (map[string]string, error)
	ReadPresence(ctx context.Context, oneHubIDs []string) (map[string]onehub.UserState, error)
	Watch(ctx context.Context, oneHubIDs []string, events chan<- onehub.Event) error
}

// Source is a pass.OneHub backed by OneHub.
type Source struct {
	c   Client
	log *slog.Logger

	mu        sync.Mutex
	streaming bool                        // a Watch runs and is connected: answer from states
	states    map[string]onehub.UserState // by OneHub id, kept by the stream
	watched   []string                    // the OneHub ids the stream subscribes
	restart   context.CancelFunc          // ends the running Watch, to start one for other ids
	downSaid  bool                        // an outage was logged and not yet ended
	news      chan struct{}               // closed and replaced when the stream connects, goes down or is replaced

	changed chan struct{} // a state changed (buffered 1): sync watch runs a pass at once

	reads, events, fallbacks atomic.Int64
}

// New returns a Source reading through c.
func New(c Client, log *slog.Logger) *Source {
	return &Source{c: c, log: log, states: map[string]onehub.UserState{}, news: make(chan struct{}),
		changed: make(chan struct{}, 1)}
}

// Stats counts OneHub use for metrics.
type Stats struct {
	Reads     int64 // one-shot reads (each a subscribe and an unsubscribe per chunk)
	Events    int64 // state changes the stream delivered
	Fallbacks int64 // times OneHub failed and the pass read over REST
}

// Stats returns the counters so far.
func (s *Source) Stats() Stats {
	return Stats{Reads: s.reads.Load(), Events: s.events.Load(), Fallbacks: s.fallbacks.Load()}
}

// Changed is signalled when the stream reports a changed DND or call state.
func (s *Source) Changed() <-chan struct{} { return s.changed }

// States implements pass.OneHub: OneHub ids not known yet are looked up
// (BatchGetUserIdentifiers); the states come from the stream when one is connected for exactly
// these users, else from one SubscribePresenceStates + UnsubscribePresenceStates read.
func (s *Source) States(ctx context.Context, users []pass.OneHubUser) (map[int]pass.OneHubState, map[int]string, error) {
	ids, looked, err := s.ids(ctx, users)
	if err != nil {
		return nil, nil, s.fellBack(err)
	}
	oh := slices.Sorted(maps.Values(ids))
	if len(oh) == 0 {
		// Nothing to read; and sync watch's Follow for no users starts no stream to wait for.
		return map[int]pass.OneHubState{}, looked, nil
	}
	got, ok, err := s.fromStream(ctx, oh)
	if err != nil {
		return nil, nil, s.fellBack(err)
	}
	if !ok {
		if got, err = s.c.ReadPresence(ctx, oh); err != nil {
			return nil, nil, s.fellBack(err)
		}
		s.reads.Add(1)
	}
	out := make(map[int]pass.OneHubState, len(ids))
	for rest, id := range ids {
		if st, ok := got[id]; ok {
			out[rest] = pass.OneHubState{DND: st.DND, OnCall: st.Telephony.OnCall()}
		}
	}
	return out, looked, nil
}

// ids maps REST ids to OneHub ids, looking up those not cached with the match.
func (s *Source) ids(ctx context.Context, users []pass.OneHubUser) (ids, looked map[int]string, err error) {
	ids = make(map[int]string, len(users))
	var ask []string
	for _, u := range users {
		if u.OneHubID != "" {
			ids[u.StarfaceID] = u.OneHubID
		} else {
			ask = append(ask, strconv.Itoa(u.StarfaceID))
		}
	}
	if len(ask) == 0 {
		return ids, nil, nil
	}
	found, err := s.c.LookupIDs(ctx, ask)
	if err != nil {
		return nil, nil, err
	}
	looked = make(map[int]string, len(found))
	for account, id := range found {
		rest, err := strconv.Atoi(account)
		if err != nil || id == "" {
			continue
		}
		ids[rest], looked[rest] = id, id
	}
	return ids, looked, nil
}

// fromStream answers from the stream's states when a stream watches exactly ids. A one-shot
// read must not run beside it: OneHub's subscriptions belong to the account, so the read's
// unsubscribe would end the stream's too. While the stream is being set up it waits for it, up
// to streamSetup, woken by news rather than by polling; while it is down the pass reads over
// REST (the error says why).
func (s *Source) fromStream(ctx context.Context, ids []string) (map[string]onehub.UserState, bool, error) {
	var timeout <-chan time.Time // started at the first wait: a connected stream answers at once
	for {
		s.mu.Lock()
		following := s.restart != nil && slices.Equal(s.watched, ids)
		streaming, down, news := s.streaming, s.downSaid, s.news
		var states map[string]onehub.UserState
		if streaming {
			states = maps.Clone(s.states)
		}
		s.mu.Unlock()
		switch {
		case !following:
			return nil, false, nil
		case streaming:
			return states, true, nil
		case down:
			return nil, false, errors.New("the OneHub event stream is not connected")
		}
		if timeout == nil {
			t := time.NewTimer(streamSetup)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-timeout:
			return nil, false, fmt.Errorf("the OneHub event stream did not connect within %v", streamSetup)
		case <-news:
		}
	}
}

// streamSetup is how long a pass waits for a new event stream before reading over REST.
const streamSetup = 2 * time.Second

// Stop ends the event stream, if one runs (before the connection is closed).
func (s *Source) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restart != nil {
		s.restart()
		s.restart, s.watched, s.streaming = nil, nil, false
		s.announceLocked()
	}
}

// announceLocked wakes the passes waiting in fromStream for the stream's state to change.
func (s *Source) announceLocked() {
	close(s.news)
	s.news = make(chan struct{})
}

func (s *Source) fellBack(err error) error {
	s.fallbacks.Add(1)
	return err
}

// Follow keeps a OneHub event stream open for the users of the last pass until ctx ends
// (`sync watch`), starting it again when the users change. Call it after each pass with the
// OneHub ids that pass used; it returns at once.
func (s *Source) Follow(ctx context.Context, users []pass.OneHubUser) {
	var ids []string
	for _, u := range users {
		if u.OneHubID != "" {
			ids = append(ids, u.OneHubID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	s.mu.Lock()
	if s.restart != nil && slices.Equal(s.watched, ids) {
		s.mu.Unlock()
		return
	}
	if s.restart != nil {
		s.restart()
	}
	wctx, cancel := context.WithCancel(ctx)
	s.restart, s.watched, s.streaming = cancel, ids, false
	s.states = map[string]onehub.UserState{}
	s.announceLocked()
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	events := make(chan onehub.Event, 256)
	go func() {
		defer close(events)
		_ = s.c.Watch(wctx, ids, events)
	}()
	go s.consume(wctx, ids, events)
}

// consume applies the stream's events to the states it keeps.
func (s *Source) consume(ctx context.Context, ids []string, events <-chan onehub.Event) {
	for ev := range events {
		s.mu.Lock()
		if ctx.Err() != nil || !slices.Equal(s.watched, ids) {
			s.mu.Unlock()
			continue // a stream for other users replaced this one: drain it
		}
		switch ev.Kind {
		case onehub.EventConnected:
			s.streaming = true
			s.announceLocked()
			if s.downSaid {
				s.log.Info("OneHub event stream back; reading DND and calls from it again")
				s.downSaid = false
			}
			// What changed while the stream was being set up (or down) is in the states it
			// just delivered: a pass now shows it.
			s.signal()
		case onehub.EventDisconnected:
			s.streaming = false
			s.announceLocked()
			s.fallbacks.Add(1)
			if !s.downSaid {
				s.log.Warn("OneHub event stream unavailable; reading DND over REST until it is back", "error", ev.Err)
				s.downSaid = true
			}
		case onehub.EventState:
			st := s.states[ev.OneHubID]
			if ev.DND != nil {
				st.DND = *ev.DND
			}
			if ev.Telephony != nil {
				st.Telephony = *ev.Telephony
			}
			s.states[ev.OneHubID] = st
			if !ev.Initial {
				s.events.Add(1)
				s.signal()
			}
		}
		s.mu.Unlock()
	}
}

func (s *Source) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// String says what the source is, for logs.
func (s *Source) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("OneHub (%s followed, streaming %v)", pass.Users(len(s.watched)), s.streaming)
}
