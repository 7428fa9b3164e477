package starface

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Acting for another user. The redirect calls take actOnBehalfOf ("This requires administrative
// privileges", typed string in the Swagger file). Which form of the user it takes is not
// documented: one third-party client sends the numeric REST id, the login ("0003") is the other
// candidate (../shared/api/starface.md "Redirects"). So the id is sent first; when the PBX
// refuses that with a 4xx, the login is tried once, and the form that worked is remembered for
// this PBX: in memory for the client's life and, with a token cache directory, in the cache file
// across runs, so a cron run on a PBX that takes logins does not pay the refused try every time.
// A remembered form that stops working (the PBX was upgraded) falls back to the other the same
// way.

// UserRef names the user a call acts for. Both forms are needed for the fallback: a ref with
// only one of them is sent in that form alone.
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

// behalfState is the remembered form. Guarded by mu.
type behalfState struct {
	mu     sync.Mutex
	form   string // BehalfID or BehalfLogin; "" until loaded
	loaded bool   // the cache file has been consulted
}

// ActOnBehalfOfForm is the form of actOnBehalfOf this client sends first: BehalfID (the
// default) or BehalfLogin, once this PBX was seen to take only that.
func (c *Client) ActOnBehalfOfForm() string {
	c.behalf.mu.Lock()
	defer c.behalf.mu.Unlock()
	return c.behalfFormLocked()
}

func (c *Client) behalfFormLocked() string {
	if !c.behalf.loaded {
		c.behalf.loaded = true
		c.behalf.form = BehalfID
		if c.cacheDir != "" {
			c.cacheMu.Lock()
			f := c.readCache().ActOnBehalfOf[c.behalfKey()]
			c.cacheMu.Unlock()
			if f == BehalfLogin {
				c.behalf.form = f
			}
		}
	}
	return c.behalf.form
}

func (c *Client) behalfKey() string { return strings.ToLower(c.base) }

// rememberBehalf records that the PBX took form, in the cache file too when it changed. A
// failed cache write costs the refused try again next run, nothing more: it is logged.
func (c *Client) rememberBehalf(ctx context.Context, form string) {
	c.behalf.mu.Lock()
	changed := c.behalfFormLocked() != form
	c.behalf.form = form
	c.behalf.mu.Unlock()
	if !changed {
		return
	}
	c.log.InfoContext(ctx, "starface: this PBX takes actOnBehalfOf as "+form, "form", form)
	if c.cacheDir == "" {
		return
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	cf := c.readCache()
	if cf.ActOnBehalfOf == nil {
		cf.ActOnBehalfOf = map[string]string{}
	}
	if form == BehalfID {
		delete(cf.ActOnBehalfOf, c.behalfKey())
	} else {
		cf.ActOnBehalfOf[c.behalfKey()] = form
	}
	if err := c.writeCache(cf); err != nil {
		c.log.WarnContext(ctx, "starface: actOnBehalfOf form not cached", "error", err)
	}
}

// behalfForms lists the forms to try for u, the remembered one first.
func (c *Client) behalfForms(u UserRef) ([][2]string, error) {
	id, login := "", strings.TrimSpace(u.Login)
	if u.ID > 0 {
		id = strconv.Itoa(u.ID)
	}
	switch {
	case id == "" && login == "":
		return nil, errors.New("no user id or login to act for")
	case id == "":
		return [][2]string{{BehalfLogin, login}}, nil
	case login == "":
		return [][2]string{{BehalfID, id}}, nil
	case c.ActOnBehalfOfForm() == BehalfLogin:
		return [][2]string{{BehalfLogin, login}, {BehalfID, id}}, nil
	}
	return [][2]string{{BehalfID, id}, {BehalfLogin, login}}, nil
}

// doBehalf sends one call for u with ?actOnBehalfOf=, in the remembered form and, when the PBX
// refuses that with a 4xx, once more in the other. When both are refused, the error holds both
// answers; errors.As finds the first.
func (c *Client) doBehalf(ctx context.Context, u UserRef, method, path string, in any) ([]byte, error) {
	forms, err := c.behalfForms(u)
	if err != nil {
		return nil, err
	}
	var first error
	for i, f := range forms {
		b, err := c.do(ctx, method, path+"?actOnBehalfOf="+url.QueryEscape(f[1]), in)
		if err == nil {
			c.rememberBehalf(ctx, f[0])
			return b, nil
		}
		if i == 0 {
			first = err
			if refusesUser(err) {
				continue
			}
			return nil, err
		}
		return nil, fmt.Errorf("%w; with actOnBehalfOf as %s (%s) instead: %w", first, f[0], f[1], err)
	}
	return nil, first
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
