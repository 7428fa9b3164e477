package graphtest

import "strings"

// Out of office, as the presence object carries it (../shared/api/graph.md "Out of office"):
// outOfOfficeSettings {message, isOutOfOffice}, served in getPresencesByUserId's answer and in
// GET /users/{id}/presence as Microsoft's example shows it:
//
//	{"id": "...", "availability": "Away", "activity": "Away",
//	 "outOfOfficeSettings": {"message": null, "isOutOfOffice": true}}
//
// isOutOfOffice is independent of the activity: an out-of-office calendar event sets it while
// the activity stays what the clients report. Older answers leave the field out entirely
// (OmitOutOfOfficeSettings).

// SetUserOutOfOffice switches the user's out of office (Outlook's automatic replies, Teams'
// scheduled out of office) on or off. The presence pair is left as it is: set it with
// SetUserPresence when the test wants the activity OutOfOffice too. It panics on an unknown user.
func (s *Server) SetUserOutOfOffice(id string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[strings.ToLower(id)]
	if u == nil {
		panic("graphtest: SetUserOutOfOffice: no user " + id)
	}
	u.OutOfOffice = on
}

// OmitOutOfOfficeSettings makes presences leave outOfOfficeSettings out (omit true), as older
// answers and users without a mailbox do, or serves it again (false, the default).
func (s *Server) OmitOutOfOfficeSettings(omit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitOOO = omit
}

// outOfOfficeSettings renders the user's settings; an empty message is null, as in Microsoft's
// example.
func outOfOfficeSettings(u User) map[string]any {
	var msg any
	if u.OutOfOfficeMessage != "" {
		msg = u.OutOfOfficeMessage
	}
	return map[string]any{"message": msg, "isOutOfOffice": u.OutOfOffice}
}
