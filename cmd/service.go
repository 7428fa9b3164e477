package cmd

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// `teamsface service` runs sync watch as a Windows service. Task Scheduler cannot start a task more
// often than once a minute, so a service is the way to a pass every 10 s on Windows. On other
// systems the commands exist (for help and the manual) but say they are Windows-only.

// serviceOptions are the flags of `teamsface service install` and `teamsface service run`.
type serviceOptions struct {
	name        string
	account     string
	interval    time.Duration
	metricsFile string
}

// defaultServiceName is the service's name and event log source.
const defaultServiceName = "teamsface"

func newServiceCmd(g *globals) *cobra.Command {
	o := &serviceOptions{}
	c := &cobra.Command{
		Use:   "service",
		Short: "Run sync watch as a Windows service (Windows only)",
		Long: `Install, remove, start and stop teamsface as a Windows service that runs "sync watch" with the
given --config and --state-dir, as LOCAL SERVICE by default, logging to the Windows event log
(Application log, source teamsface). The service manager's stop or a shutdown ends it after the
pass in flight, with the state saved. Run these commands from an elevated (administrator) prompt.
On other systems they exit 2: use the systemd units there.`,
		Example: `  teamsface service install --config C:\ProgramData\teamsface\mapping.yaml --state-dir C:\ProgramData\teamsface\state
  teamsface service start
  teamsface service stop
  teamsface service uninstall`,
	}
	nameFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&o.name, "name", defaultServiceName, "service name (several services need several names)")
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Install the Windows service (started at boot)",
		Long: `Register the service with the service manager: started automatically at boot (delayed), as
--account, running "teamsface sync watch" with the absolute --config and --state-dir given (or
found now), restarted after a failure. The configuration is loaded first, so a broken one is
refused before anything is installed. It does not start the service: "teamsface service start".`,
		Example: `  teamsface service install --config C:\ProgramData\teamsface\mapping.yaml --state-dir C:\ProgramData\teamsface\state
  teamsface service install --name teamsface-pbx2 --config C:\ProgramData\teamsface\pbx2\mapping.yaml --state-dir C:\ProgramData\teamsface\pbx2\state`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			args, err := serviceWatchArgs(g, *o)
			if err != nil {
				return err
			}
			return installService(g, *o, args)
		},
	}
	nameFlag(install)
	install.Flags().StringVar(&o.account, "account", `NT AUTHORITY\LocalService`, "account the service runs as")
	install.Flags().DurationVar(&o.interval, "interval", 10*time.Second, "time between the starts of two passes")
	install.Flags().StringVar(&o.metricsFile, "metrics-file", "", "write Prometheus text-format metrics here after every pass")

	uninstall := &cobra.Command{
		Use:     "uninstall",
		Short:   "Stop and remove the Windows service",
		Long:    "Stop the service if it runs (after its pass in flight) and remove it and its event log source. The state directory stays.",
		Example: "  teamsface service uninstall",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return uninstallService(g, *o) },
	}
	nameFlag(uninstall)
	start := &cobra.Command{
		Use:     "start",
		Short:   "Start the Windows service",
		Long:    "Start the installed service and wait until it runs.",
		Example: "  teamsface service start",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return startService(g, *o) },
	}
	nameFlag(start)
	stop := &cobra.Command{
		Use:     "stop",
		Short:   "Stop the Windows service",
		Long:    "Stop the service and wait until it has finished its pass in flight and saved its state.",
		Example: "  teamsface service stop",
		Args:    cobra.NoArgs,
		RunE:    func(c *cobra.Command, _ []string) error { return stopService(g, *o) },
	}
	nameFlag(stop)
	run := &cobra.Command{
		Use:    "run",
		Short:  "Run as the Windows service (started by the service manager)",
		Long:   "What the service manager starts: sync watch under the service manager's control. Not for use at a prompt: use sync watch there.",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			args, err := serviceWatchArgs(g, *o)
			if err != nil {
				return err
			}
			return runService(g, *o, args)
		},
	}
	nameFlag(run)
	run.Flags().DurationVar(&o.interval, "interval", 10*time.Second, "time between the starts of two passes")
	run.Flags().StringVar(&o.metricsFile, "metrics-file", "", "write Prometheus text-format metrics here after every pass")
	for _, sub := range []*cobra.Command{install, uninstall, start, stop, run} {
		// Said first, before any flag or file is looked at.
		sub.PreRunE = func(*cobra.Command, []string) error {
			if !serviceSupported {
				return errWindowsOnly()
			}
			return nil
		}
		c.AddCommand(sub)
	}
	return c
}

// errWindowsOnly is what `teamsface service` says elsewhere (exit 2).
func errWindowsOnly() error {
	return usagef("teamsface service is for Windows only; on Linux use the systemd units (packaging/systemd/), on macOS launchd (see the README)")
}

// serviceWatchArgs are the arguments of the sync watch the service runs: every path absolute,
// since a service starts in C:\Windows\System32, and the state directory always named, so that
// the service and a run by hand use the same one.
func serviceWatchArgs(g *globals, o serviceOptions) ([]string, error) {
	if o.interval < time.Second {
		return nil, usagef("--interval %s is too short; use 1s or more", o.interval)
	}
	cfg, err := g.configPath("")
	if err != nil {
		return nil, err
	}
	if cfg, err = filepath.Abs(cfg); err != nil {
		return nil, usagef("--config: %v", err)
	}
	if g.stateDir == "" {
		return nil, usagef("name the service's state directory with --state-dir, e.g. C:\\ProgramData\\teamsface\\state; a run by hand must use the same one")
	}
	stateDir, err := filepath.Abs(g.stateDir)
	if err != nil {
		return nil, usagef("--state-dir: %v", err)
	}
	args := []string{"--config", cfg, "--state-dir", stateDir, "--interval", o.interval.String()}
	if o.metricsFile != "" {
		m, err := filepath.Abs(o.metricsFile)
		if err != nil {
			return nil, usagef("--metrics-file: %v", err)
		}
		args = append(args, "--metrics-file", m)
	}
	if g.logLevel != "" && g.logLevel != "warn" {
		args = append(args, "--log-level", g.logLevel)
	}
	return args, nil
}

// eventType is how a line teamsface writes is filed in the Windows event log.
type eventType int

const (
	eventInfo eventType = iota
	eventWarning
	eventError
)

// Event ids: EventCreate.exe, the message file the source is registered with, takes 1 to 1000.
const (
	eventIDInfo    = 1
	eventIDWarning = 2
	eventIDError   = 3
)

// classifyLine files a line of sync watch's output: slog's level, and teamsface's final error line.
func classifyLine(line string) eventType {
	switch {
	case strings.Contains(line, "level=ERROR"), strings.Contains(line, `"level":"ERROR"`), strings.HasPrefix(line, "teamsface: "):
		return eventError
	case strings.Contains(line, "level=WARN"), strings.Contains(line, `"level":"WARN"`):
		return eventWarning
	}
	return eventInfo
}

// lineWriter hands complete lines to emit, one call per line, so that each becomes one event.
// The command writes from more than one goroutine; lines stay whole.
type lineWriter struct {
	emit func(line string)
	mu   sync.Mutex
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" {
			w.emit(line)
		}
		w.buf = w.buf[i+1:]
	}
}

// Flush emits a last line without a newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// watchExitMessage says why the service stopped by itself.
func watchExitMessage(code int) string {
	return fmt.Sprintf("sync watch ended with exit code %d (see \"teamsface help exit-codes\"); the service manager restarts the service after a failure", code)
}
