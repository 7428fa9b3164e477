package starfacetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/teamsface/teamsface/starface"
)

func (s *Server) routes() {
	s.route("GET /rest/login", s.getLogin)
	s.route("POST /rest/login", s.postLogin)
	s.route("DELETE /rest/login", s.deleteLogin)
	s.route("GET /rest/users", s.listUsers)
	s.route("GET /rest/users/me", s.getMe)
	s.route("GET /rest/users/{id}", s.getUser)
	s.route("GET /rest/users/{id}/phoneconfig", s.getPhoneConfig)
	s.route("PUT /rest/users/{id}/phoneconfig", s.putPhoneConfig)
	s.route("GET /rest/groups", s.listGroups)
	s.route("GET /rest/groups/{id}", s.getGroup)
	s.route("GET /rest/permissions/users/{id}", s.getUserPermissions)
	s.redirectRoutes() // redirects.go
	s.realmRoutes()
	// Anything else is a 404 in STARFACE's error shape, not a route.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such resource: "+r.Method+" "+r.URL.Path)
	})
}

// route registers a handler and remembers its pattern for Routes.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, h)
}

// Routes lists the method and path patterns the double serves ("GET /rest/users/{id}"), so a
// contract test can hold every one of them to the API summary.
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }

func (s *Server) getLogin(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	nonce := randomHex(13)
	s.nonces[nonce] = true
	lt := s.loginType
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"loginType": lt, "nonce": nonce, "secret": nil})
}

// deleteLogin: Swagger answers 204 "if a valid authToken was provided it has just been
// invalidated" (and 204 when it was not).
func (s *Server) deleteLogin(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.sessions, r.Header.Get("authToken"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		LoginType *string `json:"loginType"`
		Nonce     *string `json:"nonce"`
		Secret    *string `json:"secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid login object: "+err.Error())
		return
	}
	if in.LoginType == nil || in.Nonce == nil { // required by the Swagger Login schema
		writeError(w, http.StatusBadRequest, "loginType and nonce are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	known := s.nonces[*in.Nonce]
	delete(s.nonces, *in.Nonce) // a nonce is good for one attempt, right or wrong
	if !known || in.Secret == nil || *in.LoginType != s.loginType {
		writeError(w, http.StatusBadRequest, "invalid login")
		return
	}
	u := s.checkSecretLocked(*in.LoginType, *in.Nonce, *in.Secret)
	if u == nil {
		writeError(w, http.StatusBadRequest, "invalid login")
		return
	}
	tok := randomHex(24)
	s.sessions[tok] = session{userID: u.ID, issued: s.now()}
	s.logins++
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

func (s *Server) checkSecretLocked(loginType, nonce, secret string) *User {
	if loginType == "ActiveDirectory" {
		for _, u := range s.users {
			if secret == starface.ADSecret(u.Login, nonce, u.Password) {
				return u
			}
		}
		return nil
	}
	login, _, ok := strings.Cut(secret, ":")
	if !ok {
		return nil
	}
	for _, u := range s.users {
		if u.Login == login && secret == starface.Secret(u.Login, nonce, u.Password) {
			return u
		}
	}
	return nil
}

// userJSON is the User schema as GET /rest/users answers it (the password is never sent).
type userJSON struct {
	ID               int    `json:"id"`
	Login            string `json:"login"`
	Email            string `json:"email"`
	FirstName        string `json:"firstName"`
	FamilyName       string `json:"familyName"`
	Language         string `json:"language"`
	PersonID         string `json:"personId"`
	Namespace        string `json:"namespace"`
	MissedCallReport bool   `json:"missedCallReport"`
	FaxHeader        string `json:"faxHeader"`
	FaxCallerID      string `json:"faxCallerId"`
	FaxCoverPage     bool   `json:"faxCoverPage"`
	FaxEmailJournal  bool   `json:"faxEmailJournal"`
}

func toUserJSON(u *User) userJSON {
	return userJSON{
		ID: u.ID, Login: u.Login, Email: u.Email, FirstName: u.FirstName, FamilyName: u.FamilyName,
		Language: "default", PersonID: fmt.Sprintf("p%06d", u.ID), Namespace: "local", FaxHeader: "",
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]userJSON, 0, len(s.users))
	for _, id := range sortedIDs(s.users) {
		out = append(out, toUserJSON(s.users[id]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, toUserJSON(caller(r)))
}

// lookupUser resolves {id}; it answers 404 itself and returns nil when there is no such user.
func (s *Server) lookupUser(w http.ResponseWriter, r *http.Request) *User {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	var u *User
	if err == nil && s.users[id] != nil {
		cp := *s.users[id]
		u = &cp
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, http.StatusNotFound, "a user with the id "+r.PathValue("id")+" was not found")
	}
	return u
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if u := s.lookupUser(w, r); u != nil {
		writeJSON(w, http.StatusOK, toUserJSON(u))
	}
}

func (s *Server) getPhoneConfig(w http.ResponseWriter, r *http.Request) {
	if u := s.lookupUser(w, r); u != nil {
		writeJSON(w, http.StatusOK, u.Phone)
	}
}

func (s *Server) putPhoneConfig(w http.ResponseWriter, r *http.Request) {
	u := s.lookupUser(w, r)
	if u == nil {
		return
	}
	if c := caller(r); !c.Admin && c.ID != u.ID {
		writeError(w, http.StatusForbidden, "no permission to change the phone config of another user")
		return
	}
	pc, msg := parsePhoneConfig(r, u.Phone)
	if msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	if cur := s.users[u.ID]; cur != nil {
		extra := cur.Phone.Extra // fields the PBX has and the PUT cannot change here
		cur.Phone = pc
		cur.Phone.Extra = extra
	}
	s.mu.Unlock()
	s.dndChanged(u.ID) // tells OneHub subscribers (telephony.go)
	w.WriteHeader(http.StatusNoContent)
}

var phoneConfigFields = []string{"callWaiting", "displayNumberId", "doNotDisturb", "primaryPhoneId"}

// parsePhoneConfig demands the four fields of the PhoneConfig schema (all required) with
// their JSON types: booleans for callWaiting/doNotDisturb, integers for the two ids.
//
// null: a PBX serves null for a field it holds no value in (a user without a phone has no
// primaryPhoneId), and Swagger 2.0 cannot say whether a required field may be null. STARFACE's
// REST layer is Java: a field it can serve as null is a boxed type that also takes null back,
// so a PBX most likely accepts on PUT the null it served. The double therefore takes null
// exactly where it serves null (the client's read-modify-write sends it back unchanged), and
// refuses null where it holds a value, which no caller has a reason to send.
func parsePhoneConfig(r *http.Request, served starface.PhoneConfig) (starface.PhoneConfig, string) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return starface.PhoneConfig{}, "body must be a PhoneConfig object"
	}
	nulls := servedNulls(served)
	known := map[string]json.RawMessage{}
	for _, key := range phoneConfigFields {
		raw, ok := m[key]
		if !ok {
			return starface.PhoneConfig{}, "missing field " + key
		}
		raw = bytes.TrimSpace(raw)
		known[key] = raw
		if bytes.Equal(raw, []byte("null")) {
			if !nulls[key] {
				return starface.PhoneConfig{}, "field " + key + " must not be null"
			}
			continue
		}
		var ok2 bool
		switch key {
		case "callWaiting", "doNotDisturb":
			var b bool
			ok2 = json.Unmarshal(raw, &b) == nil
		default:
			var n int
			ok2 = json.Unmarshal(raw, &n) == nil
		}
		if !ok2 {
			return starface.PhoneConfig{}, "field " + key + " has the wrong type"
		}
	}
	// Decoding the four fields through starface.PhoneConfig keeps the nulls, so the double
	// goes on serving null where it was sent back.
	b, _ := json.Marshal(known)
	var pc starface.PhoneConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		return starface.PhoneConfig{}, "body must be a PhoneConfig object"
	}
	return pc, ""
}

// servedNulls lists the fields GET answers with null for this config.
func servedNulls(pc starface.PhoneConfig) map[string]bool {
	b, _ := json.Marshal(pc)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	out := map[string]bool{}
	for k, v := range m {
		out[k] = bytes.Equal(v, []byte("null"))
	}
	return out
}

type groupListItem struct {
	ID       int    `json:"id"`
	Name     string `json:"groupname"`
	Internal string `json:"groupinternalnumber"`
	External string `json:"groupexternalnumber"`
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]groupListItem, 0, len(s.groups))
	for _, id := range sortedIDs(s.groups) {
		g := s.groups[id]
		out = append(out, groupListItem{ID: g.id, Name: g.name, Internal: strconv.Itoa(800 + g.id)})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

type assignableUser struct {
	ID        int    `json:"id"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	Assigned  bool   `json:"assigned"`
}

type groupDetail struct {
	ID                int              `json:"id"`
	Name              string           `json:"name"`
	GroupID           string           `json:"groupId"`
	ChatGroup         bool             `json:"chatGroup"`
	Voicemail         bool             `json:"voicemail"`
	AssignableNumbers []any            `json:"assignableNumbers"`
	AssignableUsers   []assignableUser `json:"assignableUsers"`
}

// getGroup lists every user as assignable; the members are the assigned ones.
func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	g := s.groups[id]
	if err != nil || g == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "a group with the id "+r.PathValue("id")+" was not found")
		return
	}
	out := groupDetail{ID: g.id, Name: g.name, GroupID: strconv.Itoa(800 + g.id), AssignableNumbers: []any{}}
	for _, uid := range sortedIDs(s.users) {
		u := s.users[uid]
		out.AssignableUsers = append(out.AssignableUsers,
			assignableUser{ID: u.ID, FirstName: u.FirstName, LastName: u.FamilyName, Assigned: g.members[u.ID]})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// permissionInfo is the Swagger PermissionInfo. STARFACE's real permission names are not
// documented; the double uses the labels the administration shows.
type permissionInfo struct {
	ID          int    `json:"id"`
	Permission  string `json:"permission"`
	Description string `json:"description"`
}

// getUserPermissions lists a user's rights. Any user may read their own; reading another's
// needs an administrator (assumed, as for phone configs).
func (s *Server) getUserPermissions(w http.ResponseWriter, r *http.Request) {
	u := s.lookupUser(w, r)
	if u == nil {
		return
	}
	if c := caller(r); !c.Admin && c.ID != u.ID {
		writeError(w, http.StatusForbidden, "no permission to read the permissions of another user")
		return
	}
	rights := u.Rights
	if u.Admin {
		rights = append([]string{"Administrator"}, rights...)
	}
	s.mu.Lock()
	out := make([]permissionInfo, 0, len(rights))
	for _, name := range rights {
		i := slices.Index(s.rights, name)
		if i < 0 {
			s.rights = append(s.rights, name)
			i = len(s.rights) - 1
		}
		out = append(out, permissionInfo{ID: i + 1, Permission: name, Description: name})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
