package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/starface"
)

type loginOptions struct{ check bool }

func newLoginCmd(g *globals) *cobra.Command {
	o := &loginOptions{}
	c := &cobra.Command{
		Use:   "login",
		Short: "Sign in to Microsoft, or check both services and their permissions",
		Long: `With auth: device-code, sign in as a user: teamsface prints a URL and a code on stderr,
you sign in in a browser, and the refresh token is stored (0600) in the state directory for
later runs. With client-secret or client-certificate it gets a token to prove the credentials.

--check verifies both sides: the Microsoft sign-in, each Graph permission the configured
features need (from the token's roles or scp claim), a probe of getPresencesByUserId, the
STARFACE login, reading users and groups, the configured group, and whether the account may
write phone configs (it reads one and puts it back unchanged). For STARFACE it shows the
sign-in method in use (classic or oauth), the token's lifetime and the login's rights. Exit 4
when a permission is missing or credentials are refused.`,
		Example: `  teamsface login
  teamsface login --check
  teamsface login --check -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			r, err := g.newRun("")
			if err != nil {
				return err
			}
			if o.check {
				return runLoginCheck(c.Context(), r)
			}
			return runLogin(c.Context(), r)
		},
	}
	c.Flags().BoolVar(&o.check, "check", false, "verify sign-in and permissions on both services and print a table")
	return c
}

func runLogin(ctx context.Context, r *run) error {
	ac, err := r.authConfig()
	if err != nil {
		return err
	}
	if ac.Mode == "device-code" {
		if err := graph.DeviceLogin(ctx, ac, r.g.deps.Stderr); err != nil {
			return err
		}
		fmt.Fprintln(r.g.deps.Stderr, "Signed in; the refresh token is stored in", r.stateDir)
		return nil
	}
	ts, err := graph.NewTokenSource(ac)
	if err != nil {
		return err
	}
	if _, err := ts.Token(ctx); err != nil {
		return err
	}
	if err := ts.SaveErr(); err != nil {
		// Runs still sign in by themselves, but a state directory teamsface cannot write to
		// fails them too: say so now rather than claim the token is cached.
		fmt.Fprintf(r.g.deps.Stderr, "Credentials work (%s), but the token could not be cached in %s.\n", ac.Mode, r.stateDir)
		return fmt.Errorf("cache the token: %w", err)
	}
	fmt.Fprintf(r.g.deps.Stderr, "Credentials work (%s); the token is cached in %s. Run `teamsface login --check` to verify permissions.\n", ac.Mode, r.stateDir)
	return nil
}

// checkRow is one line of `login --check`.
type checkRow struct {
	Service string `json:"service"`
	Check   string `json:"check"`
	Status  string `json:"status"` // ok | missing | failed | skipped | note
	Detail  string `json:"detail"`
}

func runLoginCheck(ctx context.Context, r *run) error {
	var rows []checkRow
	add := func(service, check, status, detail string) {
		rows = append(rows, checkRow{service, check, status, detail})
	}
	var missing []string
	var firstErr error
	fail := func(service, check string, err error) {
		add(service, check, "failed", err.Error())
		if firstErr == nil {
			firstErr = err
		}
	}

	gc, err := r.graphClient()
	if err != nil {
		return err
	}
	tok, err := r.tokens.Token(ctx)
	if err != nil {
		fail("microsoft", "sign-in ("+r.cfg.Microsoft.Auth+")", err)
	} else {
		add("microsoft", "sign-in ("+r.cfg.Microsoft.Auth+")", "ok", "tenant "+r.cfg.Microsoft.Tenant)
		perms, delegated, perr := graph.TokenPermissions(tok)
		kind := "application (roles)"
		if delegated {
			kind = "delegated (scp)"
		}
		for _, p := range requiredPermissions(r.cfg) {
			switch {
			case perr != nil:
				add("microsoft", "permission "+p, "failed", perr.Error())
			case hasPermission(perms, p):
				add("microsoft", "permission "+p, "ok", kind)
			default:
				add("microsoft", "permission "+p, "missing", kind)
				missing = append(missing, p)
			}
		}
		users, err := gc.ListUsers(ctx)
		switch {
		case err != nil:
			fail("microsoft", "list users", err)
		default:
			add("microsoft", "list users", "ok", plural(len(users), "user", "users"))
			if len(users) > 0 {
				if _, err := gc.GetPresences(ctx, []string{users[0].ID}); err != nil {
					fail("microsoft", "read presence (getPresencesByUserId)", err)
				} else {
					add("microsoft", "read presence (getPresencesByUserId)", "ok", "probed "+users[0].UserPrincipalName)
				}
			}
		}
		if r.cfg.Microsoft.Group != "" {
			if us, err := gc.ListGroupUsers(ctx, r.cfg.Microsoft.Group); err != nil {
				fail("microsoft", "group "+r.cfg.Microsoft.Group, err)
			} else {
				add("microsoft", "group "+r.cfg.Microsoft.Group, "ok", plural(len(us), "user member", "user members")+" (nested included)")
			}
		}
	}

	checkStarface(ctx, r, add, fail)
	checkOneHub(ctx, r, add, fail)
	add("starface", "other presence syncs", "note", "STARFACE's built-in Microsoft Presence sync and other Teams modules must be off; REST cannot tell")

	if err := printChecks(r, rows); err != nil {
		return err
	}
	if len(missing) > 0 {
		return &authError{fmt.Errorf("missing Graph permissions %v: in the Entra admin center open App registrations > %s > API permissions, add them as %s Microsoft Graph permissions and grant admin consent",
			missing, r.cfg.Microsoft.ClientID, permissionKind(r.cfg.Microsoft.Auth))}
	}
	return firstErr
}

func checkStarface(ctx context.Context, r *run, add func(s, c, st, d string), fail func(s, c string, err error)) {
	sf, err := r.starfaceClient()
	if err != nil {
		fail("starface", "configuration", err)
		return
	}
	if err := sf.SignIn(ctx); err != nil {
		fail("starface", "sign-in ("+r.cfg.Starface.Auth+")", err)
		return
	}
	ti := sf.TokenInfo()
	add("starface", "sign-in ("+ti.Method+")", "ok", signInDetail(r.cfg.Starface.Auth, ti))
	if rights, err := sf.Rights(ctx); err != nil {
		add("starface", "rights of "+r.cfg.Starface.Login, "note", "not readable: "+err.Error())
	} else if len(rights) == 0 {
		add("starface", "rights of "+r.cfg.Starface.Login, "ok", "none")
	} else {
		add("starface", "rights of "+r.cfg.Starface.Login, "ok", strings.Join(rights, ", "))
	}
	users, err := sf.Users(ctx)
	if err != nil {
		fail("starface", "login and read users", err)
		return
	}
	add("starface", "login and read users", "ok", plural(len(users), "user", "users")+", as "+r.cfg.Starface.Login)
	groups, err := sf.Groups(ctx)
	if err != nil {
		fail("starface", "read groups", err)
	} else {
		add("starface", "read groups", "ok", plural(len(groups), "group", "groups"))
	}
	if g := r.cfg.Starface.Group; g != "" {
		if ids, err := sf.GroupMembers(ctx, g); err != nil {
			fail("starface", "group "+g, err)
		} else {
			add("starface", "group "+g, "ok", plural(len(ids), "member", "members"))
		}
	}
	// Any user may write their own phone config, so only another user's proves the right to.
	target := slices.IndexFunc(users, func(u starface.User) bool { return u.Login != r.cfg.Starface.Login })
	if target < 0 {
		add("starface", "write phone configs", "skipped", "no other user to try it on")
		return
	}
	if err := sf.CheckWrite(ctx, users[target].ID); err != nil {
		var se *starface.Error
		if errors.As(err, &se) && se.Status == 403 {
			// Wrap the STARFACE answer, not err: err already starts with "starface: ".
			err = &authError{fmt.Errorf("starface: %s may not change other users' phone configs, use an administrator login: %w", r.cfg.Starface.Login, se)}
		}
		fail("starface", "write phone configs", err)
		return
	}
	add("starface", "write phone configs", "ok", "read and wrote back "+users[target].Login+"'s, unchanged")
}

// checkOneHub probes STARFACE 10's OneHub when starface.onehub is on: reachable, the OAuth
// token accepted, and whether this login may subscribe to another user's presence (what it
// needs; where it may not, teamsface reads DND over REST instead).
func checkOneHub(ctx context.Context, r *run, add func(s, c, st, d string), fail func(s, c string, err error)) {
	if !r.cfg.Starface.OneHub {
		return
	}
	defer r.close()
	sf, err := r.starfaceClient()
	if err != nil {
		return // reported by checkStarface
	}
	if _, err := r.oneHub(ctx, sf); err != nil {
		fail("onehub", "configuration", err)
		return
	}
	users, err := sf.Users(ctx)
	if err != nil {
		return // reported by checkStarface
	}
	own := slices.IndexFunc(users, func(u starface.User) bool { return u.Login == r.cfg.Starface.Login })
	other := slices.IndexFunc(users, func(u starface.User) bool { return u.Login != r.cfg.Starface.Login })
	var accounts []string
	for _, i := range []int{own, other} {
		if i >= 0 {
			accounts = append(accounts, strconv.Itoa(users[i].ID))
		}
	}
	ids, err := r.onehub.LookupIDs(ctx, accounts)
	if err != nil {
		fail("onehub", "reachable, token accepted", err)
		return
	}
	add("onehub", "reachable, token accepted", "ok", "looked up "+plural(len(ids), "OneHub id", "OneHub ids")+" (experimental)")
	if other < 0 {
		add("onehub", "subscribe to another user", "skipped", "no other user to try it on")
		return
	}
	id := ids[strconv.Itoa(users[other].ID)]
	if id == "" {
		add("onehub", "subscribe to another user", "failed", "OneHub knows no id for "+users[other].Login)
		return
	}
	if _, err := r.onehub.ReadPresence(ctx, []string{id}); err != nil {
		// Not fatal: the passes read DND over REST instead.
		add("onehub", "subscribe to another user", "failed", err.Error()+"; teamsface reads DND over REST instead")
		return
	}
	add("onehub", "subscribe to another user", "ok", "read "+users[other].Login+"'s DND and call state")
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

func printChecks(r *run, rows []checkRow) error {
	if r.g.output == "json" {
		return printJSON(r.g.deps.Stdout, rows)
	}
	t := make([][]string, len(rows))
	for i, x := range rows {
		t[i] = []string{x.Service, x.Check, x.Status, x.Detail}
	}
	return printTable(r.g.deps.Stdout, []string{"SERVICE", "CHECK", "STATUS", "DETAIL"}, t)
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
			r, err := g.newRun("")
			if err != nil {
				return err
			}
			if err := graph.Logout(r.stateDir); err != nil {
				return err
			}
			sf, err := r.newStarfaceClient("", "")
			if err != nil {
				return err
			}
			// Logout removes the cached token even when the PBX cannot be told.
			if err := sf.Logout(c.Context()); err != nil {
				r.log.Warn("cannot end the STARFACE session; its cached token is removed", "error", err)
			}
			fmt.Fprintln(g.deps.Stderr, "Signed out; cached tokens removed from", r.stateDir)
			return nil
		},
	}
}
