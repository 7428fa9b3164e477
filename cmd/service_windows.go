//go:build windows

package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// serviceSupported says whether `teamsface service` works here.
const serviceSupported = true

// stopWait is how long the service manager is told a stop may take: the pass in flight is
// finished first (like TimeoutStopSec in the systemd unit).
const stopWait = 2 * time.Minute

func connectServiceManager() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, &authError{fmt.Errorf("connect to the service manager: %w; run from an elevated (administrator) prompt", err)}
		}
		return nil, fmt.Errorf("connect to the service manager: %w", err)
	}
	return m, nil
}

func installService(g *globals, o serviceOptions, watchArgs []string) error {
	// A configuration that does not load is refused now, not at the service's first start.
	if _, err := g.factory(""); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find teamsface.exe: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("find teamsface.exe: %w", err)
	}
	m, err := connectServiceManager()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	if s, err := m.OpenService(o.name); err == nil {
		s.Close()
		return usagef("a service named %s exists already; \"teamsface service uninstall --name %s\" first, or pass another --name", o.name, o.name)
	}
	args := append([]string{"service", "run", "--name", o.name}, watchArgs...)
	s, err := m.CreateService(o.name, exe, mgr.Config{
		DisplayName:      "teamsface (" + o.name + ")",
		Description:      "Keeps Microsoft Teams presence and STARFACE Do-Not-Disturb in step (teamsface sync watch).",
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
		ServiceStartName: o.account,
	}, args...)
	if err != nil {
		return fmt.Errorf("create service %s: %w", o.name, err)
	}
	defer s.Close()
	// Restarted after a failure (any exit but 0), sooner first, then every 5 minutes; a day
	// without failures resets the count.
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
		{Type: mgr.ServiceRestart, Delay: 5 * time.Minute},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		return fmt.Errorf("set the service's recovery actions: %w", err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set the service's recovery actions: %w", err)
	}
	if err := eventlog.InstallAsEventCreate(o.name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		// An event source left over from an earlier install is fine.
		if !errors.Is(err, windows.ERROR_ALREADY_EXISTS) && !isRegistryKeyExists(err) {
			return fmt.Errorf("register the event log source %s: %w", o.name, err)
		}
	}
	fmt.Fprintf(g.deps.Stderr, "Installed the service %s (%s): teamsface %v\nStart it with: teamsface service start --name %s\n", o.name, o.account, args, o.name)
	return nil
}

// isRegistryKeyExists recognises eventlog.Install's error for a source that exists.
func isRegistryKeyExists(err error) bool {
	return strings.Contains(err.Error(), "registry key already exists")
}

func openService(o serviceOptions) (*mgr.Mgr, *mgr.Service, error) {
	m, err := connectServiceManager()
	if err != nil {
		return nil, nil, err
	}
	s, err := m.OpenService(o.name)
	if err != nil {
		m.Disconnect()
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, nil, usagef("no service named %s; install it with \"teamsface service install\"", o.name)
		}
		return nil, nil, fmt.Errorf("open service %s: %w", o.name, err)
	}
	return m, s, nil
}

func uninstallService(g *globals, o serviceOptions) error {
	m, s, err := openService(o)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if err := stopAndWait(s); err != nil {
			return err
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("remove service %s: %w", o.name, err)
	}
	if err := eventlog.Remove(o.name); err != nil {
		fmt.Fprintf(g.deps.Stderr, "teamsface: the event log source %s could not be removed: %v\n", o.name, err)
	}
	fmt.Fprintf(g.deps.Stderr, "Removed the service %s. Its state directory stays.\n", o.name)
	return nil
}

func startService(g *globals, o serviceOptions) error {
	m, s, err := openService(o)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	if err := s.Start(); err != nil {
		return fmt.Errorf("start service %s: %w", o.name, err)
	}
	st, err := waitForState(s, 30*time.Second, svc.Running, svc.Stopped)
	if err != nil {
		return err
	}
	if st.State != svc.Running {
		return fmt.Errorf("service %s stopped right after starting (exit code %d): see the Application event log, source %s", o.name, st.ServiceSpecificExitCode, o.name)
	}
	fmt.Fprintf(g.deps.Stderr, "The service %s runs.\n", o.name)
	return nil
}

func stopService(g *globals, o serviceOptions) error {
	m, s, err := openService(o)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	if err := stopAndWait(s); err != nil {
		return err
	}
	fmt.Fprintf(g.deps.Stderr, "The service %s stopped.\n", o.name)
	return nil
}

func stopAndWait(s *mgr.Service) error {
	if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("stop service %s: %w", s.Name, err)
	}
	_, err := waitForState(s, stopWait+30*time.Second, svc.Stopped)
	return err
}

// waitForState polls the service until it is in one of states.
func waitForState(s *mgr.Service, timeout time.Duration, states ...svc.State) (svc.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Query()
		if err != nil {
			return st, fmt.Errorf("query service %s: %w", s.Name, err)
		}
		for _, want := range states {
			if st.State == want {
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("service %s did not reach the expected state within %s", s.Name, timeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// runService is what the service manager starts: sync watch under its control, logging to the
// event log.
func runService(g *globals, o serviceOptions, watchArgs []string) error {
	isService, err := svc.IsWindowsService()
	if err != nil {
		return fmt.Errorf("find out whether the service manager started teamsface: %w", err)
	}
	if !isService {
		return usagef("teamsface service run is started by the service manager; at a prompt, run \"teamsface sync watch\"")
	}
	elog, err := eventlog.Open(o.name)
	if err != nil {
		return fmt.Errorf("open the event log source %s: %w", o.name, err)
	}
	defer elog.Close()
	h := &serviceHandler{deps: g.deps, args: watchArgs, log: elog}
	if err := svc.Run(o.name, h); err != nil {
		elog.Error(eventIDError, "teamsface: the service could not run: "+err.Error())
		return fmt.Errorf("run as service %s: %w", o.name, err)
	}
	return nil
}

// serviceHandler runs sync watch as the service's work.
type serviceHandler struct {
	deps Deps
	args []string
	log  *eventlog.Log
}

// eventWriter files each line written to it as one event.
func (h *serviceHandler) eventWriter() *lineWriter {
	return &lineWriter{emit: func(line string) {
		switch classifyLine(line) {
		case eventError:
			h.log.Error(eventIDError, line)
		case eventWarning:
			h.log.Warning(eventIDWarning, line)
		default:
			h.log.Info(eventIDInfo, line)
		}
	}}
}

// Execute reports to the service manager and turns its stop or shutdown into a SIGTERM on
// Deps.Signals, so that
// sync watch finishes the pass in flight and saves the state before the service stops.
func (h *serviceHandler) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	w := h.eventWriter()
	deps := h.deps
	deps.Stdout, deps.Stderr, deps.StderrIsTerminal = w, w, false
	// The service manager's stop becomes the SIGTERM sync watch knows: finish, save, return.
	sigs := make(chan os.Signal, 1)
	deps.Signals = sigs
	done := make(chan int, 1)
	go func() { done <- Run(context.Background(), deps, append([]string{"sync", "watch"}, h.args...)) }()
	h.log.Info(eventIDInfo, fmt.Sprintf("teamsface %s started: sync watch %v", versionLine(), h.args))
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	stopping := false
	for {
		select {
		case code := <-done:
			w.Flush()
			if code != ExitOK {
				h.log.Error(eventIDError, watchExitMessage(code))
				// A service-specific exit code: the service manager records it and applies the
				// recovery actions.
				return true, uint32(code)
			}
			h.log.Info(eventIDInfo, "teamsface stopped")
			return false, 0
		case r := <-requests:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				if !stopping {
					stopping = true
					sigs <- syscall.SIGTERM
				}
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWait / time.Millisecond)}
			}
		}
	}
}
