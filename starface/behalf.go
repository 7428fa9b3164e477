package starface

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
)

// Acting for another user. The redirect calls take actOnBehalfOf ("This requires administrative
// privileges", typed string in the Swagger file). Which form of the user it takes is not
// documented: one third-party client sends the numeric REST id, the login ("0003") is the other
// candidate (../shared/api/starface.md "Redirects": send the id; if the PBX refuses it with a
// 4xx, try the login once and remember which form the PBX takes).
//
// That rule is applied once per PBX, to the signed-in login itself, rather than to each user:
// logins are numbers too, and a PBX that takes ids reads the login "0003" as the id 3, which
// may well be someone else. Falling back to the login whenever a user's id is refused (say,
// the user was deleted since the user list was read) would list, and then change, another
// user's redirects, and remember the login form for everyone. The signed-in login exists, so
// its id is refused only by a PBX that does not take ids; and an answer is accepted only when it
// lists the same redirects as the login's own list (the call without actOnBehalfOf). The form
// found is kept for the client's life: a run that touches redirects pays the probe (three or
// four requests) once, and a user's call never falls back.

// UserRef names the user a call acts for: both forms, as the PBX may take either.
type UserRef struct {
	ID    int    // the REST id (User.ID)
	Login string // the login id ("0003")
}

// Ref is the user as the redirect calls name them.
func (u User) Ref() UserRef { return UserRef{ID: u.ID, Login: u.Login} }

// String names the user in errors and logs: the login, else "user <id>".
func (u UserRef) String() string {
	if u.Login != "" {
		return u.Login
	}
	return "user " + strconv.Itoa(u.ID)
}

// The forms of actOnBehalfOf (ActOnBehalfOfForm).
const (
	BehalfID    = "id"    // the REST id, "17"
	BehalfLogin = "login" // the login, "0003"
)

// behalfState is the form found. Guarded by mu; the probe runs outside it, in probes.
type behalfState struct {
	mu     sync.Mutex
	form   string // BehalfID or BehalfLogin; "" until probed
	probes singleflight.Group
}

// ActOnBehalfOfForm returns the form of actOnBehalfOf this PBX takes, BehalfID or BehalfLogin,
// probing it with the signed-in login on first use (login --check may report it). Concurrent
// callers share one probe; a failed probe is not remembered.
func (c *Client) ActOnBehalfOfForm(ctx context.Context) (string, error) {
	form, err := c.behalfForm(ctx)
	if err != nil {
		return "", fmt.Errorf("starface: %w", err)
	}
	return form, nil
}

func (c *Client) behalfForm(ctx context.Context) (string, error) {
	c.behalf.mu.Lock()
	form := c.behalf.form
	c.behalf.mu.Unlock()
	if form != "" {
		return form, nil
	}
	// As with token renewals (session.go): the probe runs with the context of the caller that
	// started it; a waiter whose own context is alive starts one of its own when that ended.
	for attempt := 0; ; attempt++ {
		ch := c.behalf.probes.DoChan("probe", func() (any, error) { return c.probeBehalf(ctx) })
		select {
		case res := <-ch:
			if res.Err != nil {
				if attempt == 0 && ctx.Err() == nil && isContextErr(res.Err) {
					continue
				}
				return "", fmt.Errorf("find the form of actOnBehalfOf: %w", res.Err)
			}
			return res.Val.(string), nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// nobody names no user in either form: a PBX that honours actOnBehalfOf refuses it.
var nobody = map[string]string{BehalfID: "2147483647", BehalfLogin: "teamsface-probe-no-such-login"}

// probeBehalf reads the login's own redirects, then asks for them on behalf of its id and, if
// the PBX refuses that with a 4xx, of its login. A form is taken when it lists the login's own
// redirects; when the login has none (a dedicated API login often has no number), an empty list
// proves nothing, so the form must also be refused for a user who does not exist: a PBX that
// ignored the parameter would list the login's own (empty) redirects for anyone, and a write on
// behalf of a user would change the wrong redirects.
func (c *Client) probeBehalf(ctx context.Context) (string, error) {
	b, err := c.do(ctx, http.MethodGet, "/rest/users/me", nil)
	var me User
	if err == nil {
		me, err = decodeUser(b)
	}
	if err != nil {
		return "", fmt.Errorf("read own user: %w", err)
	}
	own, err := c.redirectIDs(ctx, "")
	if err != nil {
		return "", fmt.Errorf("list own redirects: %w", err)
	}
	var first error
	for _, f := range [][2]string{{BehalfID, strconv.Itoa(me.ID)}, {BehalfLogin, me.Login}} {
		got, err := c.redirectIDs(ctx, f[1])
		if err == nil && !slices.Equal(got, own) {
			return "", fmt.Errorf("with actOnBehalfOf=%s (the %s of %s) the PBX lists other redirects than %s's own", f[1], f[0], me.Login, me.Login)
		}
		if err == nil && len(own) == 0 {
			honoured, herr := c.honours(ctx, f[0])
			switch {
			case herr != nil:
				return "", herr
			case !honoured:
				if first == nil {
					first = fmt.Errorf("with actOnBehalfOf=%s, a %s nobody has, the PBX still lists redirects", nobody[f[0]], f[0])
				}
				continue
			}
		}
		switch {
		case err == nil:
			c.behalf.mu.Lock()
			c.behalf.form = f[0]
			c.behalf.mu.Unlock()
			c.log.DebugContext(ctx, "starface: the PBX takes actOnBehalfOf as "+f[0], "form", f[0])
			return f[0], nil
		case first == nil && refusesUser(err):
			first = err
		case first == nil:
			return "", err
		default:
			return "", fmt.Errorf("the PBX refuses both the id and the login of %s: %w; %w", me.Login, first, err)
		}
	}
	return "", fmt.Errorf("the PBX does not tell users apart by actOnBehalfOf, which out-of-office redirects need: %w", first)
}

// honours reports whether the PBX refuses actOnBehalfOf naming nobody in this form, as one that
// reads the parameter does (404, or 400 for a value not of its form). err is any other failure.
func (c *Client) honours(ctx context.Context, form string) (bool, error) {
	_, err := c.redirectIDs(ctx, nobody[form])
	switch {
	case err == nil:
		return false, nil
	case refusesUser(err):
		return true, nil
	}
	return false, err
}

// redirectIDs lists the ids of the redirects of the user named by behalf ("": the login's
// own), sorted.
func (c *Client) redirectIDs(ctx context.Context, behalf string) ([]string, error) {
	path := "/rest/redirects"
	if behalf != "" {
		path += "?actOnBehalfOf=" + url.QueryEscape(behalf)
	}
	b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	rs, err := decodeRedirects(b)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.id
	}
	slices.Sort(ids)
	return ids, nil
}

// refusesUser reports whether an answer may mean "not a user in the form this PBX takes": the
// statuses ../shared/api/starface.md expects for a bad or foreign user (400, 403, 404), and 422.
// A 401 is not among them (Client.do renews the token), nor are 5xx or a network failure.
func refusesUser(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// doBehalf sends one call for u with ?actOnBehalfOf= in the form this PBX takes.
func (c *Client) doBehalf(ctx context.Context, u UserRef, method, path string, in any) ([]byte, error) {
	form, err := c.behalfForm(ctx)
	if err != nil {
		return nil, err
	}
	v := strings.TrimSpace(u.Login)
	if form == BehalfID {
		v = ""
		if u.ID > 0 {
			v = strconv.Itoa(u.ID)
		}
	}
	if v == "" {
		return nil, fmt.Errorf("no %s to act for (the PBX takes actOnBehalfOf as the %s)", form, form)
	}
	return c.do(ctx, method, path+"?actOnBehalfOf="+url.QueryEscape(v), in)
}

func redirectPath(id string) string { return "/rest/redirects/" + url.PathEscape(id) }

// Redirects lists the user's redirects (GET /rest/redirects?actOnBehalfOf=): one per (number ×
// trigger) of their own numbers and, with GroupNumber, of their groups' numbers. Acting for
// another user needs an administrator login.
func (c *Client) Redirects(ctx context.Context, u UserRef) ([]Redirect, error) {
	b, err := c.doBehalf(ctx, u, http.MethodGet, "/rest/redirects", nil)
	var rs []Redirect
	if err == nil {
		rs, err = decodeRedirects(b)
	}
	if err != nil {
		return nil, fmt.Errorf("starface: list redirects of %s: %w", u, err)
	}
	return rs, nil
}

// Redirect reads one of the user's redirects by id (GET /rest/redirects/{id}); a redirect the
// PBX does not know answers an *Error with Status 404.
func (c *Client) Redirect(ctx context.Context, u UserRef, id string) (Redirect, error) {
	b, err := c.doBehalf(ctx, u, http.MethodGet, redirectPath(id), nil)
	var r Redirect
	if err == nil {
		r, err = decodeOneRedirect(b)
	}
	if err != nil {
		return Redirect{}, fmt.Errorf("starface: get redirect %q of %s: %w", oneLine(truncate(id, 80)), u, err)
	}
	return r, nil
}

// PutRedirect writes a whole redirect (PUT /rest/redirects/{id}): r as read, changed only by
// WithTarget. The body is sent exactly as r.MarshalJSON writes it (not re-encoded, so values
// go back byte for byte). Any 2xx counts as success: the Swagger file documents 204 and lists
// 200 as "unexpected". A PUT is never retried here: the next pass reads again first.
func (c *Client) PutRedirect(ctx context.Context, u UserRef, r Redirect) error {
	op := fmt.Sprintf("starface: put redirect %q of %s", oneLine(truncate(r.id, 80)), u)
	if r.members == nil {
		return fmt.Errorf("%s: the redirect was not read from the PBX", op)
	}
	body, err := r.MarshalJSON()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if _, err := c.doBehalf(ctx, u, http.MethodPut, redirectPath(r.id), rawBody(body)); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
