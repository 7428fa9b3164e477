package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/starface"
)

type loginOptions struct {
	check bool
	// writeTest also writes one other user's phone config back unchanged (--write-test).
	writeTest bool
}

func newLoginCmd(g *globals) *cobra.Command {
	o := &loginOptions{}
	c := &cobra.Command{
		Use:   "login",
		Short: "Sign in to Microsoft, or check both services and their permissions",
		Long: `With auth: device-code, sign in as a user: teamsface prints a URL and a code on stderr,
you sign in in a browser, and the refresh token is stored (0600) in the state directory for
later runs. With client-secret or client-certificate it gets a token to prove the credentials.

--check verifies both sides and changes nothing on either (it may cache tokens): the Microsoft
sign-in, each Graph permission the configured features need (from the token's roles or scp
claim), a probe of getPresencesByUserId, the STARFACE login, reading users, groups, the
configured group and another user's phone config, and the login's rights: switching other
users' DND needs the right "Administrator"; with out_of_office also acting on behalf of another
user, their redirects and, for voicemail, the voicemail boxes (no redirect is written). For
STARFACE it shows the sign-in method in use (classic or oauth) and the token's lifetime. Exit 4
when a permission or right is missing or credentials are refused; exit 3 while Graph asked to
wait (an earlier run's Retry-After): the Graph checks are skipped until then.

--write-test also proves the write by doing it: it reads one other user's phone config and
writes it back unchanged, and says whose. Run it when --check cannot read the rights, or
before the first sync against a new PBX.`,
		Example: `  teamsface login
  teamsface login --check
  teamsface login --check -o json
  teamsface login --check --write-test`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := g.factory("")
			if err != nil {
				return err
			}
			if o.check || o.writeTest {
				return runLoginCheck(c.Context(), f, *o)
			}
			return runLogin(c.Context(), f)
		},
	}
	c.Flags().BoolVar(&o.check, "check", false, "verify sign-in, permissions and rights on both services, changing nothing, and print a table")
	c.Flags().BoolVar(&o.writeTest, "write-test", false, "with --check: also write one other user's phone config back unchanged, and say whose")
	return c
}

func runLogin(ctx context.Context, f *factory) error {
	ac, err := f.svc.authConfig()
	if err != nil {
		return err
	}
	stderr := f.g.deps.Stderr
	if ac.Mode == "device-code" {
		if err := graph.DeviceLogin(ctx, ac, stderr); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "Signed in; the refresh token is stored in", f.dir)
		return nil
	}
	ts, err := graph.NewTokenSource(ac)
	if err != nil {
		return err
	}
	// A new token, not the cached one: after a secret was rotated, only that proves it works.
	if _, err := ts.SignIn(ctx); err != nil {
		return err
	}
	if err := ts.SaveErr(); err != nil {
		// Runs still sign in by themselves, but a state directory teamsface cannot write to
		// fails them too: say so now rather than claim the token is cached.
		fmt.Fprintf(stderr, "Credentials work (%s), but the token could not be cached in %s.\n", ac.Mode, f.dir)
		return fmt.Errorf("cache the token: %w", err)
	}
	fmt.Fprintf(stderr, "Credentials work (%s); the token is cached in %s. Run `teamsface login --check` to verify permissions.\n", ac.Mode, f.dir)
	return nil
}

// checkRow is one line of `login --check`.
type checkRow struct {
	Service string `json:"service"`
	Check   string `json:"check"`
	Status  string `json:"status"` // ok | missing | failed | skipped | note
	Detail  string `json:"detail"`
}

// checkList collects the rows of login --check and the first error, which decides the exit code.
type checkList struct {
	rows     []checkRow
	missing  []string // Graph permissions
	firstErr error
}

func (c *checkList) add(service, check, status, detail string) {
	c.rows = append(c.rows, checkRow{service, check, status, detail})
}

func (c *checkList) fail(service, check string, err error) {
	c.add(service, check, "failed", err.Error())
	if c.firstErr == nil {
		c.firstErr = err
	}
}

// runLoginCheck is `login --check`: a read-only run checks both services by reading, unless
// --write-test asks for the one write.
func runLoginCheck(ctx context.Context, f *factory, o loginOptions) error {
	env, err := f.env(0)
	if err != nil {
		return err
	}
	defer f.svc.close()
	run, err := f.open(pass.OpenOptions{Mode: pass.ReadOnly})
	if err != nil {
		return err
	}
	defer run.Close()
	c := &checkList{}
	wait := checkMicrosoft(ctx, f, run, env, c)
	checkStarface(ctx, f, c, o.writeTest)
	checkOneHub(ctx, f, c)
	c.add("starface", "other presence syncs", "note", "STARFACE's built-in Microsoft Presence sync and other Teams modules must be off; REST cannot tell")

	if err := printChecks(f.g, c.rows); err != nil {
		return err
	}
	cfg := f.cfg()
	switch {
	case len(c.missing) > 0:
		return &authError{fmt.Errorf("missing Graph permissions %v: in the Entra admin center open App registrations > %s > API permissions, add them as %s Microsoft Graph permissions and grant admin consent",
			c.missing, cfg.Microsoft.ClientID, permissionKind(cfg.Microsoft.Auth))}
	case c.firstErr != nil:
		return c.firstErr
	case wait != nil:
		return &partialError{waitMessage(wait, f.g.deps.Now(), "the Graph checks were skipped; run it again after that time")}
	}
	return nil
}

// checkMicrosoft signs in and checks the Graph permissions, users, a presence read and the
// group. While an earlier run's Retry-After lasts it signs in (Entra is not Graph) and skips
// the Graph requests, returning until when.
func checkMicrosoft(ctx context.Context, f *factory, run *pass.Run, env pass.Env, c *checkList) (wait *graph.ThrottledError) {
	cfg, gc := f.cfg(), f.svc.graph
	signIn := "sign-in (" + cfg.Microsoft.Auth + ")"
	tok, err := f.svc.tokens.Token(ctx)
	if err != nil {
		c.fail("microsoft", signIn, err)
		return nil
	}
	c.add("microsoft", signIn, "ok", "tenant "+cfg.Microsoft.Tenant)
	perms, delegated, perr := graph.TokenPermissions(tok)
	kind := "application (roles)"
	if delegated {
		kind = "delegated (scp)"
	}
	for _, p := range requiredPermissions(cfg) {
		switch {
		case perr != nil:
			c.add("microsoft", "permission "+p, "failed", perr.Error())
		case hasPermission(perms, p):
			c.add("microsoft", "permission "+p, "ok", kind)
		default:
			c.add("microsoft", "permission "+p, "missing", kind)
			c.missing = append(c.missing, p)
		}
	}
	if err := run.GraphAllowed(env); err != nil {
		errors.As(err, &wait)
		c.add("microsoft", "Graph requests", "skipped", waitMessage(wait, f.g.deps.Now(), "no Graph request before then"))
		return wait
	}
	users, err := gc.ListUsers(ctx)
	if err != nil {
		c.fail("microsoft", "list users", err)
	} else {
		c.add("microsoft", "list users", "ok", plural(len(users), "user", "users"))
		if len(users) > 0 {
			if _, err := gc.GetPresences(ctx, []string{users[0].ID}); err != nil {
				c.fail("microsoft", "read presence (getPresencesByUserId)", err)
			} else {
				c.add("microsoft", "read presence (getPresencesByUserId)", "ok", "probed "+users[0].UserPrincipalName)
			}
		}
	}
	if g := cfg.Microsoft.Group; g != "" {
		if us, err := gc.ListGroupUsers(ctx, g); err != nil {
			c.fail("microsoft", "group "+g, err)
		} else {
			c.add("microsoft", "group "+g, "ok", plural(len(us), "user member", "user members")+" (nested included)")
		}
	}
	return nil
}

// checkStarface signs in to STARFACE and checks, by reading, what a pass needs: users, groups,
// the configured group, another user's phone config and the right to change it. With
// writeTest it also writes that phone config back unchanged.
func checkStarface(ctx context.Context, f *factory, c *checkList, writeTest bool) {
	cfg, sf := f.cfg(), f.svc.sf
	login := cfg.Starface.Login
	if err := sf.SignIn(ctx); err != nil {
		c.fail("starface", "sign-in ("+cfg.Starface.Auth+")", err)
		return
	}
	ti := sf.TokenInfo()
	c.add("starface", "sign-in ("+ti.Method+")", "ok", signInDetail(cfg.Starface.Auth, ti))
	rights, rightsErr := sf.Rights(ctx)
	switch {
	case rightsErr != nil:
		c.add("starface", "rights of "+login, "note", "not readable: "+rightsErr.Error())
	case len(rights) == 0:
		c.add("starface", "rights of "+login, "ok", "none")
	default:
		c.add("starface", "rights of "+login, "ok", strings.Join(rights, ", "))
	}
	users, err := sf.Users(ctx)
	if err != nil {
		c.fail("starface", "login and read users", err)
		return
	}
	c.add("starface", "login and read users", "ok", plural(len(users), "user", "users")+", as "+login)
	if groups, err := sf.Groups(ctx); err != nil {
		c.fail("starface", "read groups", err)
	} else {
		c.add("starface", "read groups", "ok", plural(len(groups), "group", "groups"))
	}
	if g := cfg.Starface.Group; g != "" {
		if ids, err := sf.GroupMembers(ctx, g); err != nil {
			c.fail("starface", "group "+g, err)
		} else {
			c.add("starface", "group "+g, "ok", plural(len(ids), "member", "members"))
		}
	}
	// Any user may change their own phone config, so only another user's proves the right to.
	i := slices.IndexFunc(users, func(u starface.User) bool { return u.Login != login })
	if i < 0 {
		c.add("starface", "write phone configs", "skipped", "no other user to try it on")
		return
	}
	other := users[i]
	if _, err := sf.PhoneConfig(ctx, other.ID); err != nil {
		c.fail("starface", "read phone configs", notAdmin(login, err))
		return
	}
	c.add("starface", "read phone configs", "ok", "read "+other.Login+"'s")
	if cfg.OutOfOffice.Enabled() {
		checkRedirects(ctx, f, c, other)
	}
	switch {
	case writeTest:
		if err := sf.CheckWrite(ctx, other.ID); err != nil {
			c.fail("starface", "write phone configs", notAdmin(login, err))
			return
		}
		c.add("starface", "write phone configs", "ok", "write test: read "+other.Login+"'s and wrote it back unchanged")
	case rightsErr != nil:
		c.add("starface", "write phone configs", "note", "not tried, and the rights could not be read; --write-test tries it on "+other.Login)
	case slices.Contains(rights, starface.RightAdministrator):
		c.add("starface", "write phone configs", "ok", "right "+starface.RightAdministrator+"; not tried (--write-test tries it)")
	default:
		c.add("starface", "write phone configs", "missing", "right "+starface.RightAdministrator)
		if c.firstErr == nil {
			c.firstErr = &authError{fmt.Errorf("starface: %s has no right %q, which changing other users' phone configs needs: use an administrator login (--write-test tries a write)", login, starface.RightAdministrator)}
		}
	}
}

// checkRedirects checks, by reading, what out_of_office.redirect needs: another user's redirects
// (and which form of actOnBehalfOf this PBX takes) and, for voicemail, the voicemail boxes with
// their users. Nothing is written: a redirect write is not tried.
func checkRedirects(ctx context.Context, f *factory, c *checkList, other starface.User) {
	sf, cfg := f.svc.sf, f.cfg()
	form, err := sf.ActOnBehalfOfForm(ctx)
	if err != nil {
		c.fail("starface", "act on behalf of other users", notAdmin(cfg.Starface.Login, err))
		return
	}
	c.add("starface", "act on behalf of other users", "ok", "actOnBehalfOf takes the user's "+map[string]string{
		starface.BehalfID: "REST id", starface.BehalfLogin: "login"}[form])
	rs, err := sf.Redirects(ctx, other.Ref())
	if err != nil {
		c.fail("starface", "read redirects", notAdmin(cfg.Starface.Login, err))
		return
	}
	own := 0
	for _, r := range rs {
		if r.Trigger() == starface.TriggerAlways && !r.GroupNumber() {
			own++
		}
	}
	c.add("starface", "read redirects", "ok", fmt.Sprintf("read %s's: %s, %d of them ALWAYS on a number of their own (not written: out_of_office switches those)",
		other.Login, plural(len(rs), "redirect", "redirects"), own))
	if !cfg.OutOfOffice.Voicemail() {
		return
	}
	boxes, err := sf.VoicemailBoxes(ctx)
	if err != nil {
		c.fail("starface", "read voicemail boxes", notAdmin(cfg.Starface.Login, err))
		return
	}
	c.add("starface", "read voicemail boxes", "ok", fmt.Sprintf("%s; %s has %d of their own (redirect: voicemail needs exactly one)",
		plural(len(boxes), "voicemail box", "voicemail boxes"), other.Login, len(starface.OwnBoxes(boxes)[other.ID])))
}

// notAdmin explains a 403 on another user's phone config: the login is no administrator.
func notAdmin(login string, err error) error {
	var se *starface.Error
	if errors.As(err, &se) && se.Status == 403 {
		// Wrap the STARFACE answer, not err: err already starts with "starface: ".
		return &authError{fmt.Errorf("starface: %s may not change other users' phone configs, use an administrator login: %w", login, se)}
	}
	return err
}

// checkOneHub probes STARFACE 10's OneHub when starface.onehub is on: reachable, the OAuth
// token accepted, and whether this login may subscribe to another user's presence (what it
// needs; where it may not, teamsface reads DND over REST instead).
func checkOneHub(ctx context.Context, f *factory, c *checkList) {
	cfg, sf := f.cfg(), f.svc.sf
	if !cfg.Starface.OneHub {
		return
	}
	if _, err := f.svc.oneHub(ctx); err != nil {
		c.fail("onehub", "configuration", err)
		return
	}
	oh := f.svc.onehub
	users, err := sf.Users(ctx)
	if err != nil {
		return // reported by checkStarface
	}
	own := slices.IndexFunc(users, func(u starface.User) bool { return u.Login == cfg.Starface.Login })
	other := slices.IndexFunc(users, func(u starface.User) bool { return u.Login != cfg.Starface.Login })
	var accounts []string
	for _, i := range []int{own, other} {
		if i >= 0 {
			accounts = append(accounts, strconv.Itoa(users[i].ID))
		}
	}
	ids, err := oh.LookupIDs(ctx, accounts)
	if err != nil {
		c.fail("onehub", "reachable, token accepted", err)
		return
	}
	c.add("onehub", "reachable, token accepted", "ok", "looked up "+plural(len(ids), "OneHub id", "OneHub ids")+" (experimental)")
	if other < 0 {
		c.add("onehub", "subscribe to another user", "skipped", "no other user to try it on")
		return
	}
	id := ids[strconv.Itoa(users[other].ID)]
	if id == "" {
		c.add("onehub", "subscribe to another user", "failed", "OneHub knows no id for "+users[other].Login)
		return
	}
	if _, err := oh.ReadPresence(ctx, []string{id}); err != nil {
		// Not fatal: the passes read DND over REST instead.
		c.add("onehub", "subscribe to another user", "failed", err.Error()+"; teamsface reads DND over REST instead")
		return
	}
	c.add("onehub", "subscribe to another user", "ok", "read "+users[other].Login+"'s DND and call state")
}

// signInDetail says how STARFACE was signed in to and how long the token lives.
func signInDetail(configured string, ti starface.TokenInfo) string {
	d := fmt.Sprintf("auth %s; token lifetime %s", configured, ti.Lifetime())
	if ti.Method == starface.MethodOAuth {
		if !ti.RefreshExpiresAt.IsZero() {
			d += fmt.Sprintf(", refresh token %s", ti.RefreshExpiresAt.Sub(ti.IssuedAt))
		}
		d += "; scope " + ti.Scope + "; " + ti.ClientAuth
	}
	return d
}

func printChecks(g *globals, rows []checkRow) error {
	if g.output == "json" {
		return printJSON(g.deps.Stdout, rows)
	}
	t := make([][]string, len(rows))
	for i, x := range rows {
		t[i] = []string{x.Service, x.Check, x.Status, x.Detail}
	}
	return printTable(g.deps.Stdout, []string{"SERVICE", "CHECK", "STATUS", "DETAIL"}, t)
}

// hasPermission also accepts the broader permissions that include the one needed.
func hasPermission(have []string, need string) bool {
	implied := map[string][]string{
		"Presence.Read.All":    {"Presence.ReadWrite.All"},
		"User.Read.All":        {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		"GroupMember.Read.All": {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	if slices.Contains(have, need) {
		return true
	}
	for _, p := range implied[need] {
		if slices.Contains(have, p) {
			return true
		}
	}
	return false
}

func permissionKind(auth string) string {
	if auth == "device-code" {
		return "Delegated"
	}
	return "Application"
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Short:   "Forget cached tokens (and end the STARFACE session)",
		Long:    "Remove the cached Microsoft tokens and the cached STARFACE tokens: a classic token is also invalidated on the PBX (DELETE /rest/login); OAuth tokens are forgotten.",
		Example: "  teamsface logout",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := g.factory("")
			if err != nil {
				return err
			}
			if err := graph.Logout(f.dir); err != nil {
				return err
			}
			sf, err := f.svc.newStarfaceClient("", "")
			if err != nil {
				return err
			}
			// Logout removes the cached token even when the PBX cannot be told.
			if err := sf.Logout(c.Context()); err != nil {
				f.log.Warn("cannot end the STARFACE session; its cached token is removed", "error", err)
			}
			fmt.Fprintln(g.deps.Stderr, "Signed out; cached tokens removed from", f.dir)
			return nil
		},
	}
}
