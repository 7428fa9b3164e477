// Package cmd holds teamsface's cobra commands. It wires flags to the library packages, prints
// their results and maps errors to exit codes; deciding lives in mapping, remembering in state.
package cmd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/teamsface/teamsface/graph"
)

// Deps are what the commands need from the outside world. Tests and `demo` fill them with
// in-memory writers and clients that trust the test doubles.
type Deps struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// Getenv gives the process environment; tests replace it.
	Getenv func(string) string
	Now    func() time.Time
	// HTTPClient, when set, is used for both services instead of clients built from the config's
	// TLS settings (the test doubles use self-signed certificates).
	HTTPClient *http.Client
	// StderrIsTerminal enables progress lines.
	StderrIsTerminal bool
	// Signals, when set, replaces SIGINT/SIGTERM delivery (tests); Exit replaces os.Exit for a
	// second signal's immediate stop.
	Signals <-chan os.Signal
	Exit    func(code int)
	// OneHubTLS, when set, is the TLS configuration for STARFACE 10's OneHub instead of one
	// built from the config (the OneHub double has a certificate of its own).
	OneHubTLS *tls.Config
	// Sleep, when set, is how the clients wait: between device-code polls and before a retry.
	// Tests pass one that returns at once or moves a manual clock, so that no test waits real
	// seconds; nil waits for real.
	Sleep func(ctx context.Context, d time.Duration) error
	// After, when set, is how sync watch and the demo wait between passes; nil is time.After.
	After func(time.Duration) <-chan time.Time
}

// globals are the values of the persistent flags.
type globals struct {
	deps        Deps
	configFile  string
	stateDir    string
	output      string
	logLevel    string
	logFormat   string
	lockTimeout time.Duration

	// after waits between watch passes; tests replace it so that no test sleeps.
	after func(time.Duration) <-chan time.Time

	// started is set once a command's own code runs; errors before it are cobra's usage errors.
	started bool
	// args is the command line after "teamsface", for messages that show a command to run.
	args []string
}

// Execute runs teamsface with os.Args and returns the process exit code.
func Execute(ctx context.Context) int {
	if os.Getenv("GOGC") == "" {
		// Most of a pass's heap is the garbage of decoding answers and files; collecting it
		// sooner keeps a 10,000-user run near 37 MiB instead of 43 on the small appliances
		// teamsface often runs on, for about 30 ms more CPU a pass. GOGC overrides it.
		debug.SetGCPercent(gcPercent)
	}
	deps := Deps{
		Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin,
		Getenv: os.Getenv, Now: time.Now,
		StderrIsTerminal: isTerminal(os.Stderr),
	}
	return Run(ctx, deps, os.Args[1:])
}

// gcPercent is the garbage collector's target when GOGC is not set (Go's default is 100).
const gcPercent = 25

// Run runs teamsface with the given arguments and returns the exit code. Errors are printed to
// deps.Stderr.
func Run(ctx context.Context, deps Deps, args []string) int {
	if deps.Getenv == nil {
		deps.Getenv = func(string) string { return "" }
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	g := &globals{deps: deps, after: deps.After, args: args}
	root := newRootCmd(g)
	root.SetArgs(args)
	c, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	// Cobra's own errors (unknown command or flag, wrong argument count) come before any RunE.
	if !g.started {
		err = &usageError{err}
	}
	var te *graph.ThrottledError
	if errors.As(err, &te) && ExitCode(err) == ExitPartial && !errors.As(err, new(*partialError)) {
		// A command that only reads met an earlier run's Retry-After (pass.Run.GraphAllowed):
		// it says until when, once, as a pass does.
		err = &partialError{waitMessage(te, deps.Now(), "no run sends Graph a request before then; run it again after that time")}
	}
	var missing *missingCommandError
	if errors.As(err, &missing) {
		// `teamsface sync`: what could have been meant, on stderr, since nothing ran.
		missing.cmd.SetOut(deps.Stderr)
		_ = missing.cmd.Help()
		fmt.Fprintln(deps.Stderr)
	}
	var partial *partialError
	if !errors.As(err, &partial) || partial.msg != "" {
		fmt.Fprintf(deps.Stderr, "teamsface: %v\n", err)
	}
	code := ExitCode(err)
	if code == ExitUsage && !g.started && missing == nil {
		fmt.Fprintf(deps.Stderr, "Run '%s --help' for usage.\n", c.CommandPath())
	}
	return code
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "teamsface",
		Short: "Keep Microsoft Teams presence and STARFACE Do-Not-Disturb in step",
		Long: `teamsface keeps Microsoft Teams presence and a STARFACE PBX in step: while someone is in a
Teams call or meeting, their STARFACE phone goes to Do-Not-Disturb, so no second call rings
through; optionally, a DND switched on at the STARFACE phone shows in Teams, and while
someone is out of office (Outlook, Teams) their calls go to their voicemail box or a number.

It runs outside the PBX and uses only what STARFACE offers outside programs: the REST API,
which reads and switches DND and call redirects, and on STARFACE 10, when starface.onehub is on
(experimental), OneHub, which reads every user's DND and calls at once, so that a STARFACE call
can show in Teams too. No interface lets an outside program set another user's STARFACE chat status, so
teamsface does not.

Run it every 10 seconds (systemd timer, or "sync watch"). See "teamsface help exit-codes"
and "teamsface help config".`,
		Example: `  teamsface demo                       # try it against simulated Teams and STARFACE
  teamsface mapping check mapping.yaml  # validate a config and show its decision table
  teamsface login --check               # verify sign-in and permissions on both sides
  teamsface users match --unmatched     # who cannot be synced, and why
  teamsface sync once --dry-run         # what a pass would change
  teamsface sync watch --interval 10s   # run passes until stopped`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			g.started = true
			return g.applyEnv(c.Flags())
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	// `teamsface --version`, as most tools have it, prints what `teamsface version` does.
	root.Version = strings.TrimSuffix(versionLine(), "\n")
	root.SetVersionTemplate("{{.Version}}\n")
	// Declared here so cobra does not take -v for it, which many tools use for verbose.
	root.Flags().Bool("version", false, "print the version, commit and commit time, as \"teamsface version\" does")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{flagValueError(err)} })

	pf := root.PersistentFlags()
	pf.StringVarP(&g.configFile, "config", "c", "", "configuration file (env TEAMSFACE_CONFIG; default ./mapping.yaml, $XDG_CONFIG_HOME/teamsface/mapping.yaml, /etc/teamsface/mapping.yaml)")
	pf.StringVar(&g.stateDir, "state-dir", "", "state directory (env TEAMSFACE_STATE_DIR; default $XDG_STATE_HOME/teamsface)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	pf.StringVar(&g.logLevel, "log-level", "warn", "log level: error, warn, info, debug or trace")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	pf.DurationVar(&g.lockTimeout, "lock-timeout", 0, "how long to wait for another run's state lock before exiting 5 (default 0s: exit at once)")

	root.AddCommand(
		newVersionCmd(g),
		newLoginCmd(g),
		newLogoutCmd(g),
		newUsersCmd(g),
		newPresenceCmd(g),
		newSyncCmd(g),
		newMappingCmd(g),
		newReleaseCmd(g),
		newDemoCmd(g),
		newManCmd(g),
		newServiceCmd(g),
	)
	root.AddCommand(&cobra.Command{
		Use:   "exit-codes",
		Short: "What teamsface's exit codes mean",
		Long:  exitCodeHelp,
	})
	root.AddCommand(&cobra.Command{
		Use:   "config",
		Short: "Every configuration key, its default and meaning",
		Long:  configHelp(),
	})
	root.SetOut(g.deps.Stdout)
	root.SetErr(g.deps.Stderr)
	root.SetHelpCommand(withConfigSchema(g, newHelpCmd()))
	// Cobra adds its completion command only when it executes; added now, it is guarded like
	// every other group (`teamsface completion bsh` fails) and writes to deps.Stdout.
	root.InitDefaultCompletionCmd()
	guardGroups(root)
	registerFlagCompletions(root)
	return root
}

// applyEnv fills every global flag the user did not set from TEAMSFACE_<NAME>; flags win.
func (g *globals) applyEnv(fs *pflag.FlagSet) error {
	var err error
	fromEnv := map[string]string{} // flag name → the variable its value came from
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "TEAMSFACE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := g.deps.Getenv(name)
		if v == "" {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = envValueError(name, f, v)
		}
		fromEnv[f.Name] = name
	})
	if err != nil {
		return err
	}
	// invalid names where a bad value came from: the flag, or the variable that set it.
	invalid := func(flag, value, valid string) error {
		if env, ok := fromEnv[flag]; ok {
			return usagef("environment variable %s=%q is not valid; use %s", env, value, valid)
		}
		return usagef("--%s %q is not valid; use %s", flag, value, valid)
	}
	switch g.output {
	case "table", "json":
	default:
		return invalid("output", g.output, "table or json")
	}
	switch g.logFormat {
	case "text", "json":
	default:
		return invalid("log-format", g.logFormat, "text or json")
	}
	if _, ok := logLevels[g.logLevel]; !ok {
		return invalid("log-level", g.logLevel, "error, warn, info, debug or trace")
	}
	return nil
}

// configPath finds the configuration file as DESIGN.md says.
func (g *globals) configPath(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if g.configFile != "" {
		return g.configFile, nil
	}
	candidates := []string{"mapping.yaml"}
	if x := g.deps.Getenv("XDG_CONFIG_HOME"); x != "" {
		candidates = append(candidates, filepath.Join(x, "teamsface", "mapping.yaml"))
	} else if h := g.deps.Getenv("HOME"); h != "" {
		candidates = append(candidates, filepath.Join(h, ".config", "teamsface", "mapping.yaml"))
	}
	candidates = append(candidates, "/etc/teamsface/mapping.yaml")
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", usagef("no configuration file: looked for %s; pass --config FILE or set TEAMSFACE_CONFIG (see mapping.example.yaml)", strings.Join(candidates, ", "))
}
