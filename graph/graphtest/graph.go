package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// User is a directory user of the double, with the presence its Teams clients report.
type User struct {
	ID, DisplayName, Mail, UserPrincipalName string
	ProxyAddresses                           []string
	AccountEnabled                           bool
	Availability, Activity                   string // what the user's own Teams clients report
	// OutOfOffice is outOfOfficeSettings.isOutOfOffice (automatic replies, scheduled out of
	// office, or an out-of-office calendar event), OutOfOfficeMessage its message ("" is
	// served as null, as in Microsoft's example). See SetUserOutOfOffice.
	OutOfOffice        bool
	OutOfOfficeMessage string
}

// Session is an application's presence session (setPresence) as the double keeps it.
type Session struct {
	SessionID, Availability, Activity string
	Expires                           time.Time
}

// graphState holds the directory and presence data. Guarded by Server.mu.
type graphState struct {
	users      map[string]*userEntry // by lower-case object id
	userOrder  []string              // lower-case ids in the order they were added: the listing order
	groups     map[string][]string   // group id (lower case) → member ids (users or groups)
	pageSize   int                   // >0: forced page size for collections
	clearLag   time.Duration
	pageTokens map[string]pageCursor // $skiptoken → where the next page starts
	omitOOO    bool                  // presences without outOfOfficeSettings (OmitOutOfOfficeSettings)
}

type userEntry struct {
	User
	sessions  map[string]*appSession // by sessionId
	cleared   []clearedPair          // pairs still visible after clearPresence (SetClearLag)
	preferred *pair                  // the status the user picked by hand, nil: none
}

type appSession struct {
	availability, activity string
	set, expires           time.Time
}

type clearedPair struct {
	availability, activity string
	until                  time.Time
}

type pageCursor struct {
	ids    []string // the whole result, as of the first page
	offset int
}

func (s *Server) initGraph() {
	s.graphState = graphState{
		users:      map[string]*userEntry{},
		groups:     map[string][]string{},
		pageTokens: map[string]pageCursor{},
	}
	for _, rt := range graphRoutes {
		s.mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) { rt.handle(s, w, r) })
	}
}

// graphRoutes are the Graph requests the double serves; wire.go answers the others.
var graphRoutes = []struct {
	method, path string
	handle       func(*Server, http.ResponseWriter, *http.Request)
}{
	{"GET", "/v1.0/users", (*Server).handleListUsers},
	{"GET", "/v1.0/users/{id}", (*Server).handleGetUser},
	{"GET", "/v1.0/users/{id}/presence", (*Server).handleGetPresence},
	{"POST", "/v1.0/users/{id}/presence/setPresence", (*Server).handleSetPresence},
	{"POST", "/v1.0/users/{id}/presence/clearPresence", (*Server).handleClearPresence},
	{"POST", "/v1.0/communications/getPresencesByUserId", (*Server).handleGetPresences},
	// The type cast in its two spellings: Graph's $metadata declares the namespace
	// microsoft.graph with the alias "graph" (<Schema Namespace="microsoft.graph" Alias="graph">),
	// and OData takes a type named by the alias as the same type. Microsoft's docs write
	// microsoft.graph.user; msgraph-sdk-go (1.89) sends graph.user.
	{"GET", "/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user", (*Server).handleGroupUsers},
	{"GET", "/v1.0/groups/{id}/transitiveMembers/graph.user", (*Server).handleGroupUsers},
}

// ---- test hooks ----

// AddUser adds or replaces a user. An empty ID gets a random GUID; empty Availability/Activity
// default to Offline/Offline. A replaced user keeps its app sessions.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = randomID()
	}
	if u.Availability == "" {
		u.Availability = "Offline"
	}
	if u.Activity == "" {
		u.Activity = "Offline"
	}
	key := strings.ToLower(u.ID)
	if e, ok := s.users[key]; ok {
		e.User = u
		return
	}
	s.users[key] = &userEntry{User: u, sessions: map[string]*appSession{}}
	s.userOrder = append(s.userOrder, key)
}

// AddGroup adds or replaces a group. Members are user ids or group ids (nesting).
func (s *Server) AddGroup(id string, memberIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[strings.ToLower(id)] = append([]string(nil), memberIDs...)
}

// SetUserPresence sets what the user's own Teams clients report. It panics on an unknown user.
func (s *Server) SetUserPresence(id, availability, activity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(id)]
	if u == nil {
		panic("graphtest: SetUserPresence: no user " + id)
	}
	u.Availability, u.Activity = availability, activity
}

// userPreferredPairs are the pairs setUserPreferredPresence accepts (its documented table): the
// statuses a user can pick by hand in Teams.
var userPreferredPairs = map[pair]bool{
	{"Available", "Available"}:       true,
	{"Busy", "Busy"}:                 true,
	{"DoNotDisturb", "DoNotDisturb"}: true,
	{"BeRightBack", "BeRightBack"}:   true,
	{"Away", "Away"}:                 true,
	{"Offline", "OffWork"}:           true,
}

// SetUserPreferredPresence plays the user picking a status by hand in Teams (what Graph's
// setUserPreferredPresence sets). While set it is the presence Graph reports, whatever the app
// sessions say ("user-preferred state > session-level states"), provided the user has a presence
// session at all (a Teams client signed in, i.e. their own presence is not Offline, or a live app
// session); without one the user shows Offline, as the setUserPreferredPresence docs say. It
// panics on an unknown user or a pair setUserPreferredPresence refuses (valid:
// Available/Available, Busy/Busy, DoNotDisturb/DoNotDisturb, BeRightBack/BeRightBack, Away/Away,
// Offline/OffWork).
func (s *Server) SetUserPreferredPresence(id, availability, activity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(id)]
	if u == nil {
		panic("graphtest: SetUserPreferredPresence: no user " + id)
	}
	p := pair{availability, activity}
	if !userPreferredPairs[p] {
		panic("graphtest: SetUserPreferredPresence: setUserPreferredPresence does not accept " + availability + "/" + activity)
	}
	u.preferred = &p
}

// ClearUserPreferredPresence plays the user resetting the status picked by hand: the sessions
// decide again.
func (s *Server) ClearUserPreferredPresence(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[strings.ToLower(id)]; u != nil {
		u.preferred = nil
	}
}

// PresenceOf returns the user's visible (aggregated) presence, as Graph would answer it now.
// An unknown user is PresenceUnknown/PresenceUnknown.
func (s *Server) PresenceOf(id string) (availability, activity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(id)]
	if u == nil {
		return "PresenceUnknown", "PresenceUnknown"
	}
	p := s.visibleLocked(u)
	return p.availability, p.activity
}

// Sessions returns the user's live app sessions (set with setPresence, not expired or cleared),
// sorted by session id, with the pair as it was set.
func (s *Server) Sessions(id string) []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(id)]
	if u == nil {
		return nil
	}
	s.expireLocked(u)
	var out []Session
	for sid, a := range u.sessions {
		out = append(out, Session{SessionID: sid, Availability: a.availability, Activity: a.activity, Expires: a.expires})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SessionID < out[j].SessionID })
	return out
}

// SetPageSize forces pages of at most n items for /users and transitiveMembers, whatever $top
// asks for (0 restores Graph's behaviour: $top, default 100).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// SetClearLag keeps a cleared session's pair visible for d after clearPresence, as Teams clients
// are slow to drop it.
func (s *Server) SetClearLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLag = d
}

// ---- presence model ----

type pair struct{ availability, activity string }

// rank orders availabilities the way Graph aggregates sessions (setPresence docs: among sessions
// DoNotDisturb > Busy > Available > Away); Offline and unknown values never win over a real state.
func rank(availability string) int {
	switch availability {
	case "DoNotDisturb":
		return 4
	case "Busy", "BusyIdle":
		return 3
	case "Available", "AvailableIdle":
		return 2
	case "Away", "BeRightBack":
		return 1
	}
	return 0
}

// expireLocked drops app sessions past their expiration and cleared pairs past the lag.
func (s *Server) expireLocked(u *userEntry) {
	now := s.now()
	for sid, a := range u.sessions {
		if !now.Before(a.expires) {
			delete(u.sessions, sid)
		}
	}
	kept := u.cleared[:0]
	for _, c := range u.cleared {
		if now.Before(c.until) {
			kept = append(kept, c)
		}
	}
	u.cleared = kept
}

// sessionPair is what an app session shows now. Per the setPresence docs an Available session
// times out after 5 minutes without refresh and fades: Available/AvailableInactive, then 5
// minutes later Away/Away.
func (s *Server) sessionPair(a *appSession) pair {
	if a.availability == "Available" {
		switch idle := s.now().Sub(a.set); {
		case idle >= 10*time.Minute:
			return pair{"Away", "Away"}
		case idle >= 5*time.Minute:
			return pair{"Available", "AvailableInactive"}
		}
	}
	return pair{a.availability, a.activity}
}

// visibleLocked aggregates the user's own presence with live app sessions and lagging cleared
// pairs. Without app sessions it is the user's own presence as it is. A status the user picked
// by hand beats them all while the user has a presence session.
func (s *Server) visibleLocked(u *userEntry) pair {
	s.expireLocked(u)
	own := pair{u.Availability, u.Activity}
	if u.preferred != nil && (own.availability != "Offline" || len(u.sessions) > 0) {
		return *u.preferred
	}
	if len(u.sessions) == 0 && len(u.cleared) == 0 {
		return own
	}
	candidates := []pair{own} // first: the user's own state wins a tie
	sids := make([]string, 0, len(u.sessions))
	for sid := range u.sessions {
		sids = append(sids, sid)
	}
	sort.Strings(sids)
	for _, sid := range sids {
		candidates = append(candidates, s.sessionPair(u.sessions[sid]))
	}
	for _, c := range u.cleared {
		candidates = append(candidates, pair{c.availability, c.activity})
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if rank(c.availability) > rank(best.availability) {
			best = c
		}
	}
	return best
}

// setPresencePairs are the pairs setPresence accepts (setPresence docs; DoNotDisturb/Presenting
// from the newer version).
var setPresencePairs = map[pair]bool{
	{"Available", "Available"}:     true,
	{"Busy", "InACall"}:            true,
	{"Busy", "InAConferenceCall"}:  true,
	{"Away", "Away"}:               true,
	{"DoNotDisturb", "Presenting"}: true,
}

// ---- handlers ----

func (s *Server) handleGetPresences(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorizeLocked(w, r, "Presence.Read.All", "Presence.ReadWrite.All") || !requireJSON(w, r) {
		return
	}
	var body struct {
		IDs *[]string `json:"ids"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.IDs == nil {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The request body must be a JSON object with an 'ids' array.")
		return
	}
	ids := *body.IDs
	switch {
	case len(ids) == 0:
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The 'ids' array must not be empty.")
		return
	case len(ids) > 650:
		// Graph historically answers this with a bare 400; the limit is documented.
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid request.")
		return
	}
	// Unknown ids are left out of the answer (the docs are silent; teamsface treats them as missing).
	value := []map[string]any{}
	seen := map[string]bool{}
	for _, id := range ids {
		key := strings.ToLower(id)
		u := s.users[key]
		if u == nil || seen[key] {
			continue
		}
		seen[key] = true
		value = append(value, s.presenceJSONLocked(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": s.URL + "/v1.0/$metadata#Collection(microsoft.graph.presence)",
		"value":          value,
	})
}

func (s *Server) handleGetPresence(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorizeLocked(w, r, "Presence.Read", "Presence.Read.All", "Presence.ReadWrite.All") {
		return
	}
	u := s.lookupLocked(w, r)
	if u == nil {
		return
	}
	p := s.presenceJSONLocked(u)
	p["@odata.context"] = s.URL + "/v1.0/$metadata#users('" + u.ID + "')/presence/$entity"
	writeJSON(w, http.StatusOK, p)
}

// presenceJSONLocked renders a presence the way Graph does today, including fields teamsface does
// not use (statusMessage null), so clients must decode leniently; outOfOfficeSettings as in
// Microsoft's example (outofoffice.go), or not at all.
func (s *Server) presenceJSONLocked(u *userEntry) map[string]any {
	p := s.visibleLocked(u)
	m := map[string]any{
		"@odata.type":   "#microsoft.graph.presence",
		"id":            u.ID,
		"availability":  p.availability,
		"activity":      p.activity,
		"statusMessage": nil,
	}
	if !s.omitOOO {
		m["outOfOfficeSettings"] = outOfOfficeSettings(u.User)
	}
	return m
}

// The refusal Graph gives a delegated token that writes another user's presence. Reported for
// setPresence and setStatusMessage (Microsoft Q&A 1163128 and 2076676, where a Microsoft
// moderator reproduced it; microsoftgraph/microsoft-graph-explorer-v4#3096): status 401 with the
// message "Cannot set the presence of another user. Authenticated user: <oid>. Requested user:
// <oid>". The error code is not quoted in any of them; "Unauthorized" is Graph's generic one
// for 401. A delegated token without Presence.ReadWrite at all gets 403 Forbidden.
const (
	otherUserStatus = http.StatusUnauthorized
	otherUserCode   = "Unauthorized"
)

// authorizeWriteLocked checks a setPresence/clearPresence and returns the user it is for (nil
// when it answered a refusal): an application token needs the
// role Presence.ReadWrite.All; a delegated token needs the scope Presence.ReadWrite and acts for
// the signed-in user alone (setPresence's permissions table: Presence.ReadWrite delegated,
// Presence.ReadWrite.All application; there is no delegated Presence.ReadWrite.All).
func (s *Server) authorizeWriteLocked(w http.ResponseWriter, r *http.Request) *userEntry {
	if !s.authorizeLocked(w, r) {
		return nil
	}
	it := s.bearerLocked(r)
	perm := "Presence.ReadWrite.All"
	if it.delegated {
		perm = "Presence.ReadWrite"
	}
	if !it.perms[perm] {
		writeGraphError(w, r, http.StatusForbidden, "Forbidden", "Insufficient privileges to complete the operation.")
		return nil
	}
	if !requireJSON(w, r) {
		return nil
	}
	u := s.lookupLocked(w, r)
	if u == nil {
		return nil
	}
	if it.delegated && it.user != strings.ToLower(u.ID) {
		writeGraphError(w, r, otherUserStatus, otherUserCode, fmt.Sprintf(
			"Cannot set the presence of another user. Authenticated user: %s. Requested user: %s", it.user, u.ID))
		return nil
	}
	return u
}

func (s *Server) handleSetPresence(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.authorizeWriteLocked(w, r)
	if u == nil {
		return
	}
	var body struct {
		SessionID          string  `json:"sessionId"`
		Availability       string  `json:"availability"`
		Activity           string  `json:"activity"`
		ExpirationDuration *string `json:"expirationDuration"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid request body.")
		return
	}
	if body.SessionID == "" {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "SessionId is required.")
		return
	}
	if !setPresencePairs[pair{body.Availability, body.Activity}] {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The presence state %s/%s is not supported.", body.Availability, body.Activity))
		return
	}
	dur := 5 * time.Minute // documented default
	if body.ExpirationDuration != nil {
		d, ok := parseISODuration(*body.ExpirationDuration)
		if !ok || d < 5*time.Minute || d > 4*time.Hour {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("ExpirationDuration '%s' is invalid: it must be between PT5M and PT240M.", *body.ExpirationDuration))
			return
		}
		dur = d
	}
	s.expireLocked(u)
	now := s.now()
	u.sessions[body.SessionID] = &appSession{availability: body.Availability, activity: body.Activity, set: now, expires: now.Add(dur)}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleClearPresence(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.authorizeWriteLocked(w, r)
	if u == nil {
		return
	}
	var body struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.SessionID == "" {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "SessionId is required.")
		return
	}
	s.expireLocked(u)
	a := u.sessions[body.SessionID]
	if a == nil {
		writeGraphError(w, r, http.StatusNotFound, "NotFound", "The presence session was not found.")
		return
	}
	if s.clearLag > 0 {
		p := s.sessionPair(a)
		u.cleared = append(u.cleared, clearedPair{p.availability, p.activity, s.now().Add(s.clearLag)})
	}
	delete(u.sessions, body.SessionID)
	w.WriteHeader(http.StatusOK)
}

// userReadPerms may read a user's full profile; User.ReadBasic.All reads only the basic profile.
var userReadPerms = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorizeLocked(w, r, append([]string{"User.ReadBasic.All"}, userReadPerms...)...) {
		return
	}
	if r.URL.Query().Get("$count") != "" && !requireAdvancedQuery(w, r) {
		return
	}
	s.servePageLocked(w, r, func() []string { return append([]string(nil), s.userOrder...) },
		"#users", r.URL.Query().Get("$count") == "true")
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorizeLocked(w, r, append([]string{"User.ReadBasic.All"}, userReadPerms...)...) {
		return
	}
	sel, ok := parseSelect(w, r)
	if !ok {
		return
	}
	u := s.lookupLocked(w, r)
	if u == nil {
		return
	}
	m := s.userJSONLocked(r, u, sel)
	m["@odata.context"] = s.URL + "/v1.0/$metadata#users/$entity"
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) handleGroupUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorizeLocked(w, r, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Group.ReadWrite.All", "Directory.ReadWrite.All") {
		return
	}
	// The OData cast is an advanced query (Microsoft Learn, "Advanced query capabilities on
	// Microsoft Entra ID objects"): without both it is refused.
	if r.URL.Query().Get("$count") != "true" || !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		writeGraphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery",
			"The requested query is an advanced query: it requires the header ConsistencyLevel: eventual and $count=true.")
		return
	}
	gid := strings.ToLower(r.PathValue("id"))
	if _, ok := s.groups[gid]; !ok {
		writeNotFound(w, r, r.PathValue("id"))
		return
	}
	s.servePageLocked(w, r, func() []string { return s.transitiveUsersLocked(gid) }, "#users", true)
}

// transitiveUsersLocked resolves nested groups, each user once, in first-seen order.
func (s *Server) transitiveUsersLocked(gid string) []string {
	var out []string
	seenUser, seenGroup := map[string]bool{}, map[string]bool{}
	var walk func(g string)
	walk = func(g string) {
		if seenGroup[g] {
			return
		}
		seenGroup[g] = true
		for _, m := range s.groups[g] {
			k := strings.ToLower(m)
			switch {
			case s.users[k] != nil && !seenUser[k]:
				seenUser[k] = true
				out = append(out, k)
			case s.groups[k] != nil:
				walk(k)
			}
		}
	}
	walk(gid)
	return out
}

// servePageLocked answers one page of a user collection. The first request snapshots the result;
// @odata.nextLink is an absolute URL repeating the query with an opaque $skiptoken.
func (s *Server) servePageLocked(w http.ResponseWriter, r *http.Request, all func() []string, context string, withCount bool) {
	q := r.URL.Query()
	if q.Has("$skip") {
		writeGraphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "'$skip' is not supported by the service.")
		return
	}
	top := 100
	if v := q.Get("$top"); q.Has("$top") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			// The message Graph sends, as reported by SDK users.
			writeGraphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v))
			return
		}
		top = n
	}
	if s.pageSize > 0 {
		top = min(top, s.pageSize)
	}
	sel, ok := parseSelect(w, r)
	if !ok {
		return
	}
	var cur pageCursor
	if tok := q.Get("$skiptoken"); tok != "" {
		c, ok := s.pageTokens[tok]
		if !ok {
			writeGraphError(w, r, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
			return
		}
		cur = c
	} else {
		cur = pageCursor{ids: all()}
	}
	end := min(cur.offset+top, len(cur.ids))
	value := []map[string]any{}
	for _, id := range cur.ids[cur.offset:end] {
		if u := s.users[id]; u != nil { // a user removed meanwhile is skipped
			value = append(value, s.userJSONLocked(r, u, sel))
		}
	}
	out := map[string]any{"@odata.context": s.URL + "/v1.0/$metadata" + context, "value": value}
	if withCount {
		out["@odata.count"] = len(cur.ids)
	}
	if end < len(cur.ids) {
		tok := "RFNwdAIA" + strings.ReplaceAll(randomID(), "-", "")
		s.pageTokens[tok] = pageCursor{ids: cur.ids, offset: end}
		out["@odata.nextLink"] = s.URL + r.URL.Path + "?" + withSkipToken(r.URL.RawQuery, tok)
	}
	writeJSON(w, http.StatusOK, out)
}

// withSkipToken keeps the request's query as it was written, replacing $skiptoken.
func withSkipToken(rawQuery, tok string) string {
	var parts []string
	for _, p := range strings.Split(rawQuery, "&") {
		if p == "" || strings.HasPrefix(p, "$skiptoken=") || strings.HasPrefix(strings.ToLower(p), "%24skiptoken=") {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(append(parts, "$skiptoken="+tok), "&")
}

// userProps are the user properties the double knows; $select of anything else is refused as
// Graph refuses an unknown property.
var userProps = []string{
	"id", "displayName", "mail", "userPrincipalName", "proxyAddresses", "accountEnabled",
	"businessPhones", "givenName", "surname", "jobTitle", "mobilePhone", "officeLocation",
	"preferredLanguage", "department", "companyName", "userType",
}

// defaultUserProps is what Graph v1.0 returns without $select (no proxyAddresses, no accountEnabled).
var defaultUserProps = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}

// basicUserProps are readable with User.ReadBasic.All; others come back null.
var basicUserProps = map[string]bool{"id": true, "displayName": true, "givenName": true, "surname": true, "mail": true, "userPrincipalName": true}

func parseSelect(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	v := r.URL.Query().Get("$select")
	if v == "" {
		return defaultUserProps, true
	}
	var sel []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		canon := ""
		for _, p := range userProps {
			if strings.EqualFold(p, f) { // Graph matches property names case-insensitively
				canon = p
			}
		}
		if canon == "" {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.user'.", f))
			return nil, false
		}
		sel = append(sel, canon)
	}
	return sel, true
}

func (s *Server) userJSONLocked(r *http.Request, u *userEntry, sel []string) map[string]any {
	full := s.hasPermLocked(r, userReadPerms...)
	m := map[string]any{}
	for _, f := range sel {
		if !full && !basicUserProps[f] {
			m[f] = nil
			continue
		}
		m[f] = userProp(u.User, f)
	}
	return m
}

func userProp(u User, f string) any {
	str := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	switch f {
	case "id":
		return u.ID
	case "displayName":
		return str(u.DisplayName)
	case "mail":
		return str(u.Mail)
	case "userPrincipalName":
		return str(u.UserPrincipalName)
	case "proxyAddresses":
		return append([]string{}, u.ProxyAddresses...)
	case "accountEnabled":
		return u.AccountEnabled
	case "businessPhones":
		return []string{}
	case "userType":
		return "Member"
	}
	return nil
}

// bearerLocked is the request's token as issued (nil if unknown).
func (s *Server) bearerLocked(r *http.Request) *issuedToken {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return s.tokens[tok]
}

// hasPermLocked reports whether the (already authorized) bearer token carries any of perms.
func (s *Server) hasPermLocked(r *http.Request, perms ...string) bool {
	it := s.bearerLocked(r)
	if it == nil {
		return false
	}
	for _, p := range perms {
		if it.perms[p] {
			return true
		}
	}
	return false
}

// lookupLocked finds the {id} user by object id or user principal name, or answers 404.
func (s *Server) lookupLocked(w http.ResponseWriter, r *http.Request) *userEntry {
	id := r.PathValue("id")
	if u := s.users[strings.ToLower(id)]; u != nil {
		return u
	}
	for _, k := range s.userOrder {
		if u := s.users[k]; strings.EqualFold(u.UserPrincipalName, id) {
			return u
		}
	}
	writeNotFound(w, r, id)
	return nil
}

func writeNotFound(w http.ResponseWriter, r *http.Request, id string) {
	writeGraphError(w, r, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// requireAdvancedQuery: $count on directory objects needs ConsistencyLevel: eventual.
func requireAdvancedQuery(w http.ResponseWriter, r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		return true
	}
	writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest",
		"$count is not currently supported without the header ConsistencyLevel: eventual.")
	return false
}

// requireJSON: the presence actions document Content-Type: application/json as required.
func requireJSON(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/json") {
		return true
	}
	writeGraphError(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type must be application/json.")
	return false
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration reads the ISO-8601 durations Graph takes, e.g. PT5M, PT1H30M, PT240M, P0DT4H.
func parseISODuration(v string) (time.Duration, bool) {
	m := isoDurationRE.FindStringSubmatch(v)
	if m == nil || v == "P" || strings.HasSuffix(v, "T") {
		return 0, false
	}
	var d time.Duration
	units := []time.Duration{24 * time.Hour, time.Hour, time.Minute}
	for i, u := range units {
		if m[i+1] != "" {
			n, err := strconv.Atoi(m[i+1])
			if err != nil {
				return 0, false
			}
			d += time.Duration(n) * u
		}
	}
	if m[4] != "" {
		f, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return 0, false
		}
		d += time.Duration(f * float64(time.Second))
	}
	return d, true
}
