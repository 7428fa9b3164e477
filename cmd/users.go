package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/mapping"
)

type usersMatchOptions struct {
	unmatchedOnly   bool
	failOnUnmatched bool
}

// matchRow is one line of `users match`; the JSON names are stable.
type matchRow struct {
	Login   string `json:"login"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Status  string `json:"status"`
	Basis   string `json:"basis"`
	Reason  string `json:"reason"`
	EntraID string `json:"entra_id"`
	UPN     string `json:"upn"`
}

func newUsersCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "users", Short: "Inspect how STARFACE users match Entra users",
		Long:    "Show which STARFACE users in scope match which Entra users; only matched users are synced.",
		Example: "  teamsface users match --unmatched\n  teamsface users match --fail-on-unmatched -o json"}
	o := &usersMatchOptions{}
	m := &cobra.Command{
		Use:   "match",
		Short: "Show which STARFACE user matches which Entra user, and why not",
		Long: `List every STARFACE user in scope (starface.group, users.exclude) with the Entra user it
matches and the basis of the match (override, mail, alias, upn), or why it does not match
(unmatched, ambiguous, disabled, excluded). Only matched users take part in a sync.
A summary goes to stderr. --fail-on-unmatched exits 3 when any user in scope is unmatched or
ambiguous, for CI checks of a new configuration.`,
		Example: `  teamsface users match
  teamsface users match --unmatched
  teamsface users match -o json --fail-on-unmatched`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			f, err := g.factory("")
			if err != nil {
				return err
			}
			return runUsersMatch(c.Context(), f, *o)
		},
	}
	m.Flags().BoolVar(&o.unmatchedOnly, "unmatched", false, "show only the problems: unmatched, ambiguous and disabled users")
	m.Flags().BoolVar(&o.failOnUnmatched, "fail-on-unmatched", false, "exit 3 when a user in scope is unmatched or ambiguous")
	c.AddCommand(m)
	return c
}

// runUsersMatch is `users match`: a read-only run matches users anew; this prints the match.
func runUsersMatch(ctx context.Context, f *factory, o usersMatchOptions) error {
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
	matches, err := run.Match(ctx, env)
	if err != nil {
		return err
	}
	g := f.g
	rows := make([]matchRow, 0, len(matches))
	for _, m := range matches {
		// Excluded users are out of scope on purpose: not a problem to show.
		if o.unmatchedOnly && (m.Status == mapping.StatusMatched || m.Status == mapping.StatusExcluded) {
			continue
		}
		rows = append(rows, matchRow{Login: m.Login, Name: m.Name, Email: m.Email, Status: string(m.Status),
			Basis: m.Basis, Reason: m.Reason, EntraID: m.EntraID, UPN: m.UPN})
	}
	sum := mapping.Summarize(matches)
	if g.output == "json" {
		err = printJSON(g.deps.Stdout, rows)
	} else {
		table := make([][]string, len(rows))
		for i, x := range rows {
			basis := x.Basis
			if x.Reason != "" {
				basis = x.Reason
			}
			table[i] = []string{x.Login, x.Name, dash(x.Email), x.Status, dash(basis), dash(x.UPN), dash(x.EntraID)}
		}
		err = printTable(g.deps.Stdout, []string{"LOGIN", "NAME", "E-MAIL", "STATUS", "BASIS / REASON", "ENTRA UPN", "ENTRA ID"}, table)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(g.deps.Stderr, sum.String())
	if o.failOnUnmatched && sum.Unmatched+sum.Ambiguous > 0 {
		n := sum.Unmatched + sum.Ambiguous
		verb := "are"
		if n == 1 {
			verb = "is"
		}
		return &partialError{fmt.Sprintf("%s in scope %s unmatched or ambiguous", plural(n, "user", "users"), verb)}
	}
	return nil
}
