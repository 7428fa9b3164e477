package starfacetest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Voicemail boxes (Swagger: VoicemailboxListItem, Voicemailbox), the destinations of a MAILBOX
// redirect. GET /rest/voicemailboxes lists the boxes the caller can access (an administrator:
// all; another user their own and their groups'); the detail holds voicemailUsers and the box's
// password, as the PBX serves it. Another's box answers 403, an unknown one 404 (assumed: the
// Swagger file documents only 500). The boxes live in the redirect state (redirects.go).

// VoicemailBox is a voicemail box as the double knows it.
type VoicemailBox struct {
	ID       int
	Name     string
	Number   string
	Password string // served in the detail, as the PBX does
	UserIDs  []int  // REST ids of the users it belongs to (voicemailUsers)
	GroupIDs []int  // ids of the groups it belongs to (voicemailGroups)
}

// AddVoicemailBox adds or replaces a voicemail box.
func (s *Server) AddVoicemailBox(b VoicemailBox) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.UserIDs = slices.Clone(b.UserIDs)
	b.GroupIDs = slices.Clone(b.GroupIDs)
	s.book().boxes[b.ID] = &b
}

func (s *Server) voicemailRoutes() {
	s.route("GET /rest/voicemailboxes", s.listVoicemailBoxes)
	s.route("GET /rest/voicemailboxes/{id}", s.getVoicemailBox)
}

// canAccessBoxLocked: an administrator accesses every box; another user their own and their
// groups'.
func (s *Server) canAccessBoxLocked(u *User, b *VoicemailBox) bool {
	if u.Admin || slices.Contains(b.UserIDs, u.ID) {
		return true
	}
	for _, g := range b.GroupIDs {
		if s.groups[g] != nil && s.groups[g].members[u.ID] {
			return true
		}
	}
	return false
}

type voicemailListItem struct {
	ID             int      `json:"id"`
	MailboxNumber  string   `json:"mailboxnumber"`
	VoiceboxName   string   `json:"voiceboxname"`
	AssignedUsers  []string `json:"assignedusers"`
	AssignedGroups []string `json:"assignedgroups"`
}

func (s *Server) listVoicemailBoxes(w http.ResponseWriter, r *http.Request) {
	c := caller(r)
	s.mu.Lock()
	b := s.book()
	out := []voicemailListItem{}
	for _, id := range sortedIDs(b.boxes) {
		box := b.boxes[id]
		if !s.canAccessBoxLocked(c, box) {
			continue
		}
		// What assignedusers/assignedgroups hold is not documented; the double shows names.
		item := voicemailListItem{ID: box.ID, MailboxNumber: box.Number, VoiceboxName: box.Name,
			AssignedUsers: []string{}, AssignedGroups: []string{}}
		for _, uid := range box.UserIDs {
			if u := s.users[uid]; u != nil {
				item.AssignedUsers = append(item.AssignedUsers, strings.TrimSpace(u.FirstName+" "+u.FamilyName))
			}
		}
		for _, gid := range box.GroupIDs {
			if g := s.groups[gid]; g != nil {
				item.AssignedGroups = append(item.AssignedGroups, g.name)
			}
		}
		out = append(out, item)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

type voicemailUser struct {
	AccountID        int    `json:"accountId"`
	Name             string `json:"name"`
	SendMail         bool   `json:"sendMail"`
	VoicemailboxName string `json:"voicemailboxName"`
}

type voicemailGroup struct {
	AccountID int    `json:"accountId"`
	Name      string `json:"name"`
	SendMail  bool   `json:"sendMail"`
}

type voicemailDetail struct {
	ID              int              `json:"id"`
	Name            string           `json:"name"`
	Number          string           `json:"number"`
	MaximumDuration int              `json:"maximumDuration"`
	NoRecord        bool             `json:"noRecord"`
	Password        string           `json:"password"`
	VoicemailUsers  []voicemailUser  `json:"voicemailUsers"`
	VoicemailGroups []voicemailGroup `json:"voicemailGroups"`
}

func (s *Server) getVoicemailBox(w http.ResponseWriter, r *http.Request) {
	c := caller(r)
	id, err := strconv.Atoi(r.PathValue("id"))
	s.mu.Lock()
	box := s.book().boxes[id]
	if err != nil || box == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "a voicemail box with the id "+r.PathValue("id")+" was not found")
		return
	}
	if !s.canAccessBoxLocked(c, box) {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "no permission to read this voicemail box")
		return
	}
	out := voicemailDetail{ID: box.ID, Name: box.Name, Number: box.Number, MaximumDuration: 180,
		Password: box.Password, VoicemailUsers: []voicemailUser{}, VoicemailGroups: []voicemailGroup{}}
	for _, uid := range box.UserIDs {
		if u := s.users[uid]; u != nil {
			out.VoicemailUsers = append(out.VoicemailUsers, voicemailUser{AccountID: u.ID,
				Name: strings.TrimSpace(u.FirstName + " " + u.FamilyName), VoicemailboxName: box.Name})
		}
	}
	for _, gid := range box.GroupIDs {
		if g := s.groups[gid]; g != nil {
			out.VoicemailGroups = append(out.VoicemailGroups, voicemailGroup{AccountID: g.id, Name: g.name})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
