package starface

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a non-2xx answer from STARFACE, with its {"code","message"} body when it sent one.
// Callers branch on Status (401/403: authentication, exit 4; others: failure).
type Error struct {
	Status  int
	Code    string // STARFACE's error code, "" when the body had none
	Message string
	Method  string
	Path    string // request path, e.g. /rest/users/17/phoneconfig
}

// Error reads "500 Internal Server Error: message (code X)", like graph.Error without its
// prefix: the client's operation adds "starface: <what it was doing>: " once in front
// ("starface: get phone config of user 17: 500 Internal Server Error: message"). The code is
// shown only when it says more than the status (the double, and some releases, send the
// status number as code).
func (e *Error) Error() string {
	s := strconv.Itoa(e.Status)
	if t := http.StatusText(e.Status); t != "" {
		s += " " + t
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Code != "" && e.Code != strconv.Itoa(e.Status) {
		s += " (code " + e.Code + ")"
	}
	return s
}

// newError builds an Error from a response body, which may be STARFACE's JSON, HTML from a
// proxy or nothing. Only the JSON's code and message are kept, never the raw body: it could
// echo request data.
func newError(status int, method, path string, body []byte) *Error {
	e := &Error{Status: status, Method: method, Path: path}
	var b struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &b) == nil {
		// code is documented as a string; tolerate a number.
		var s string
		if json.Unmarshal(b.Code, &s) != nil {
			s = strings.Trim(string(b.Code), `"`)
		}
		if s == "null" {
			s = ""
		}
		e.Code = oneLine(truncate(s, maxCode))
		e.Message = oneLine(truncate(b.Message, maxMessage))
	}
	return e
}

// maxMessage and maxCode bound what an Error keeps of the service's message and code (bytes).
const (
	maxMessage = 300
	maxCode    = 64
)

// oneLine replaces control characters (newlines included) with spaces: the text ends up in
// one log line and one line of stderr, and a PBX's message must not forge a second one.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// truncate cuts s to at most n bytes at a rune boundary (found by FuzzErrorBody: a cut
// inside a multi-byte character made the error text invalid UTF-8).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// AuthError means STARFACE refused the sign-in (the classic login's 400, 401 or 403; the OAuth
// realm's refusal of the client, the user's credentials, the scope or the user's right), or
// none is possible with what is configured. cmd maps it to exit 4. It never contains the
// password, the client secret or a token. Like Error it does not name the service: the
// operation that failed wraps it as "starface: <operation>: ".
type AuthError struct {
	Msg     string
	Refused string // what was refused: RefusedClient, RefusedCredentials, ...; "" when nothing was
	Err     error  // the *Error or the realm's refusal, if any
	Fix     string // what an administrator does about it, "" when obvious
}

func (e *AuthError) Error() string {
	s := e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

func (e *AuthError) Unwrap() error { return e.Err }

// GroupNotFoundError is returned by GroupMembers for a name no STARFACE group has.
type GroupNotFoundError struct {
	Name  string
	Known []string // the group names that exist
}

func (e *GroupNotFoundError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("starface: group %q not found: the PBX has no groups", e.Name)
	}
	return fmt.Sprintf("starface: group %q not found; existing groups: %s", e.Name, strings.Join(e.Known, ", "))
}
