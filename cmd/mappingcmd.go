package cmd

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
)

type tableRowJSON struct {
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
	DND          string `json:"dnd"`
	Rule         int    `json:"rule"`
	Reason       string `json:"reason"`
}

type testResultJSON struct {
	Line         int    `json:"line"`
	Availability string `json:"availability"`
	Activity     string `json:"activity"`
	OutOfOffice  bool   `json:"out_of_office"`
	Expect       string `json:"expect"`
	Got          string `json:"got"`
	// ExpectRedirect is the test's expect.redirect ("" when it has none); GotRedirect whether
	// the input's calls would be redirected (out_of_office).
	ExpectRedirect string `json:"expect_redirect,omitempty"`
	GotRedirect    string `json:"got_redirect"`
	Pass           bool   `json:"pass"`
}

func newMappingCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "mapping", Short: "Validate and explain the configuration",
		Long:    "Check a configuration file offline: its keys and values, its decision table and its tests.\nEvery key is described in \"teamsface help config\".",
		Example: "  teamsface mapping check /etc/teamsface/mapping.yaml\n  teamsface help config"}
	c.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a configuration, print its decision table and run its tests",
		Long: `Validate the YAML (unknown keys, names, pairs, durations), print what the rules decide for
every availability × activity pair Teams reports, with the rule that fired, and run the file's
tests: section. No network, no secrets needed. Exit 0 when valid and every test passes, 2 when
invalid, 3 when a test fails: made for CI checks of a mapping.

It warns on stderr, without changing the exit code, about what would stop a run: values still
copied from mapping.example.yaml (tenant, client id, PBX) and a secret or certificate file that
cannot be read. Secrets in environment variables are not looked at (a service gets them from its
unit, not from this shell); "teamsface login --check" checks sign-in and credentials.`,
		Example: `  teamsface mapping check
  teamsface mapping check /etc/teamsface/mapping.yaml
  teamsface mapping check -o json mapping.yaml`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: files("yaml", "yml"),
		RunE: func(c *cobra.Command, args []string) error {
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			path, err := g.configPath(file)
			var cfg *mapping.Config
			if err == nil {
				cfg, err = mapping.Load(path)
			}
			if err != nil {
				if g.output == "json" {
					// A CI job reading the JSON gets a document for an invalid file too.
					if perr := printJSON(g.deps.Stdout, invalidConfigJSON(path, err)); perr != nil {
						return perr
					}
				}
				return err
			}
			warnNotReady(g.logger(), cfg)
			return runMappingCheck(g, cfg)
		},
	})
	return c
}

// warnNotReady warns about what would stop a run of a configuration whose rules mapping check
// accepts: example placeholders, and secret files that cannot be read as the running user.
// Environment variables are left alone: a service gets them from its unit or pod, not from the
// shell or CI job that runs mapping check. Credentials themselves are login --check's.
func warnNotReady(log *slog.Logger, cfg *mapping.Config) {
	for _, p := range cfg.Placeholders() {
		log.Warn("still the example's placeholder; put in your own (mapping check checks the rules, login --check sign-in and credentials)",
			"key", p.Key, "value", p.Value)
	}
	for _, err := range secretFileProblems(cfg) {
		log.Warn("secret file cannot be used; runs fail until it can (mapping check checks the rules, login --check the credentials)",
			"error", err)
	}
}

// secretFileProblems tries every secret or certificate file the configuration names and uses;
// the errors never hold a secret.
func secretFileProblems(cfg *mapping.Config) []error {
	var out []error
	check := func(file, envKey string) {
		if file == "" {
			return
		}
		if _, err := mapping.ReadSecret(file, "", envKey); err != nil {
			out = append(out, err)
		}
	}
	m, s := cfg.Microsoft, cfg.Starface
	switch m.Auth {
	case "client-secret":
		check(m.ClientSecretFile, "microsoft.client_secret_env")
	case "client-certificate":
		if _, _, err := graph.LoadCertificate(m.CertificateFile); err != nil {
			out = append(out, fmt.Errorf("%s: microsoft.certificate_file: %w", cfg.File, err))
		}
	}
	check(s.PasswordFile, "starface.password_env")
	if s.Auth != "classic" {
		check(s.ClientSecretFile, "starface.client_secret_env")
	}
	return out
}

// configProblemJSON is one problem of an invalid configuration in `mapping check -o json`.
type configProblemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"` // 0: not on one line (a file that cannot be read, a missing section)
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

type invalidConfigOutput struct {
	File   string              `json:"file"`
	Valid  bool                `json:"valid"`
	Errors []configProblemJSON `json:"errors"`
}

// invalidConfigJSON lists the problems Load found in file, each with its position.
func invalidConfigJSON(file string, err error) invalidConfigOutput {
	out := invalidConfigOutput{File: file, Errors: []configProblemJSON{}}
	var all mapping.ConfigErrors
	var one *mapping.ConfigError
	switch {
	case errors.As(err, &all):
	case errors.As(err, &one):
		all = mapping.ConfigErrors{one}
	default:
		out.Errors = append(out.Errors, configProblemJSON{File: file, Message: err.Error()})
	}
	for _, e := range all {
		out.Errors = append(out.Errors, configProblemJSON{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Msg})
	}
	return out
}

func runMappingCheck(g *globals, cfg *mapping.Config) error {
	table := cfg.DecisionTable()
	results := cfg.RunTests()
	failed := 0
	for _, r := range results {
		if !r.Pass {
			failed++
		}
	}
	if g.output == "json" {
		out := struct {
			File  string           `json:"file"`
			Valid bool             `json:"valid"`
			Table []tableRowJSON   `json:"table"`
			Tests []testResultJSON `json:"tests"`
		}{File: cfg.File, Valid: true, Table: []tableRowJSON{}, Tests: []testResultJSON{}}
		for _, t := range table {
			out.Table = append(out.Table, tableRowJSON{t.Availability, t.Activity, string(t.Decision.DND), t.Decision.Rule, t.Decision.Reason})
		}
		for _, r := range results {
			out.Tests = append(out.Tests, testResultJSON{Line: r.Test.Line, Availability: r.Test.Availability, Activity: r.Test.Activity,
				OutOfOffice: r.Test.OutOfOffice, Expect: string(r.Test.Expect.DND), Got: string(r.Got.DND),
				ExpectRedirect: r.Test.Expect.Redirect, GotRedirect: r.Redirect, Pass: r.Pass})
		}
		if err := printJSON(g.deps.Stdout, out); err != nil {
			return err
		}
	} else {
		rows := make([][]string, len(table))
		for i, t := range table {
			rule := "-"
			if t.Decision.Rule > 0 {
				rule = strconv.Itoa(t.Decision.Rule)
			}
			rows[i] = []string{t.Availability, t.Activity, string(t.Decision.DND), rule}
		}
		fmt.Fprintf(g.deps.Stdout, "%s is valid. Decision table (first matching rule wins):\n\n", cfg.File)
		if err := printTable(g.deps.Stdout, []string{"AVAILABILITY", "ACTIVITY", "DND", "RULE"}, rows); err != nil {
			return err
		}
		if o := cfg.OutOfOffice; o.Enabled() {
			target := "the user's own voicemail box"
			if n := o.Number(); n != "" {
				target = n
			}
			fmt.Fprintf(g.deps.Stdout, "\nOut of office: calls go to %s (the ALWAYS redirects of the user's own numbers).\n", target)
		}
		if len(results) > 0 {
			fmt.Fprintf(g.deps.Stdout, "\n%s\n", testsSummary(failed, len(results)))
			for _, r := range results {
				switch {
				case r.Pass:
				case r.Got.DND != r.Test.Expect.DND:
					fmt.Fprintf(g.deps.Stdout, "  FAIL %s:%d: %s/%s: expected dnd %s, got %s (%s)\n", cfg.File, r.Test.Line,
						r.Test.Availability, r.Test.Activity, r.Test.Expect.DND, r.Got.DND, r.Got.Reason)
				default:
					why := "out_of_office.redirect is off"
					if cfg.OutOfOffice.Enabled() {
						why = "the input is not out of office"
						if r.Test.OutOfOffice || r.Test.Activity == "OutOfOffice" {
							why = "the input is out of office"
						}
					}
					fmt.Fprintf(g.deps.Stdout, "  FAIL %s:%d: %s/%s: expected redirect %s, got %s (%s)\n", cfg.File, r.Test.Line,
						r.Test.Availability, r.Test.Activity, r.Test.Expect.Redirect, r.Redirect, why)
				}
			}
		}
	}
	if failed > 0 {
		return &partialError{fmt.Sprintf("%d of %s failed", failed, plural(len(results), "mapping test", "mapping tests"))}
	}
	return nil
}

// testsSummary is the line above the failed tests of `mapping check`.
func testsSummary(failed, total int) string {
	switch {
	case total == 1 && failed == 0:
		return "The file's one test passes."
	case total == 1:
		return "The file's one test fails:"
	case failed == 0:
		return fmt.Sprintf("All %d tests of the file pass.", total)
	case failed == 1:
		return fmt.Sprintf("1 of the file's %d tests fails:", total)
	}
	return fmt.Sprintf("%d of the file's %d tests fail:", failed, total)
}

// configHelp is `teamsface help config`, generated from the loader's own list of keys.
func configHelp() string {
	var b strings.Builder
	b.WriteString("Every key teamsface's configuration file accepts (see mapping.example.yaml).\n")
	b.WriteString("Secrets never go in the file: they come from the environment or a 0600 file.\n")
	b.WriteString("\"teamsface help config -o json\" prints them as JSON, \"teamsface help config --schema\" the file's\n")
	b.WriteString("JSON Schema, which editors use to complete and check it (mapping.example.yaml names it).\n\n")
	for _, k := range mapping.Keys() {
		def := k.Default
		if def == "" {
			def = "(none)"
		}
		fmt.Fprintf(&b, "  %s (%s, default %s)\n      %s\n", k.Key, k.Type, def, k.Meaning)
	}
	return b.String()
}

// configKeyJSON is one key of `teamsface help config -o json`: the rows of the text, as JSON.
type configKeyJSON struct {
	Key     string `json:"key"`
	Type    string `json:"type"`
	Default string `json:"default,omitempty"` // left out when the key has none
	Meaning string `json:"meaning"`
}

// withConfigSchema gives the help command what only `help config` uses: --schema prints the
// configuration file's JSON Schema (mapping.Schema), and -o json prints the keys the text lists
// as JSON, since -o json means the same data as JSON on every command.
func withConfigSchema(g *globals, help *cobra.Command) *cobra.Command {
	var schema bool
	help.Flags().BoolVar(&schema, "schema", false, `with "config": print the JSON Schema of the configuration file, for editors`)
	helpRun := help.RunE
	help.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := c.Root().Find(args)
		config := err == nil && len(rest) == 0 && target.Name() == "config" && target.Parent() == c.Root()
		switch {
		case schema && !config:
			return usagef("--schema goes with help config only: teamsface help config --schema")
		case schema:
			_, err := g.deps.Stdout.Write(mapping.Schema())
			return err
		case config && g.output == "json":
			keys := mapping.Keys()
			out := make([]configKeyJSON, len(keys))
			for i, k := range keys {
				out[i] = configKeyJSON{Key: k.Key, Type: k.Type, Default: k.Default, Meaning: k.Meaning}
			}
			return printJSON(g.deps.Stdout, out)
		}
		return helpRun(c, args)
	}
	return help
}
