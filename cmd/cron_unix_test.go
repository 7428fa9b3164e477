//go:build unix

package cmd

import (
	"bytes"
	"encoding/pem"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scheduledLine is a documented line that cron or a systemd timer runs unattended: cron mails
// whatever it prints, a timer puts it in the journal every 10 s, so a run that succeeds must
// print nothing at all.
type scheduledLine struct {
	source string // where it is documented
	env    map[string]string
	// shell is a crontab command (run by /bin/sh -c, as cron does); args an ExecStart= (run
	// without a shell, as systemd does). One of them is set.
	shell string
	args  []string
}

// cronLines returns the commands of the crontabs in the README's "Running it for real" section
// (```cron blocks: system crontabs, whose sixth field is the user), each with the variables
// set above it.
func cronLines(t *testing.T) []scheduledLine {
	t.Helper()
	var out []scheduledLine
	assign := regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	entry := regexp.MustCompile(`^(?:\S+\s+){5}\S+\s+(.+)$`)
	for _, f := range fences(readmeSection(t, runningSection)) {
		if f.lang != "cron" {
			continue
		}
		env := map[string]string{}
		for _, line := range strings.Split(f.body, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if m := assign.FindStringSubmatch(line); m != nil {
				env[m[1]] = m[2]
				continue
			}
			m := entry.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("README: %q is neither a variable nor a system crontab entry", line)
			}
			out = append(out, scheduledLine{source: "README crontab: " + line, env: maps.Clone(env), shell: m[1]})
		}
	}
	return out
}

// timerLines returns the ExecStart= of every service a packaged timer starts (the README shows
// the same files, see TestReadmeUnitsAreThePackagedFiles).
func timerLines(t *testing.T) []scheduledLine {
	t.Helper()
	units := packagedUnits(t)
	var out []scheduledLine
	for name, text := range units {
		if !strings.HasSuffix(name, ".timer") {
			continue
		}
		timer, err := parseUnit(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		service, ok := timer.get("Timer", "Unit")
		if !ok {
			service = strings.TrimSuffix(name, ".timer") + ".service"
		}
		u, err := parseUnit(units[service])
		if err != nil {
			t.Fatalf("%s: %v", service, err)
		}
		start, ok := u.get("Service", "ExecStart")
		if !ok {
			t.Fatalf("%s (started by %s) has no ExecStart=", service, name)
		}
		out = append(out, scheduledLine{source: "packaging/systemd/" + service + ": ExecStart=" + start, args: strings.Fields(start)})
	}
	return out
}

// Every documented cron line and timer unit runs as written — the real binary, GNU timeout,
// the shell's loop — against the doubles, and prints nothing when it succeeds: cron would mail
// each line (1,440 mails a day for a line run every minute). It caught timeout(1) without
// --foreground sending its SIGINT twice (to teamsface and to its process group): when the two
// arrived apart, the second stopped teamsface at once, or, arriving after teamsface had finished,
// killed it (exit 130). Where the lines name system paths
// (the binary, the configuration, the state directory, /run), the test points them at its own
// files; the cron user field is not honoured (the test runs as whoever runs it). Two waits are
// cut short so that the test takes well under a second: timeout's (once teamsface has finished a
// pass, the test sends timeout the SIGALRM its own timer would, and timeout stops teamsface as
// it does when the time is up) and the loop's pauses (a sleep that returns at once).
func TestScheduledLinesPrintNothing(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout (GNU coreutils) here")
	}
	lines := append(cronLines(t), timerLines(t)...)
	crons, timers := 0, 0
	for _, l := range lines {
		if l.shell != "" {
			crons++
		} else {
			timers++
		}
	}
	if crons < 2 || timers < 1 {
		t.Fatalf("found %d cron lines and %d timer units; the README shows two crontabs and the packages a timer", crons, timers)
	}
	for _, l := range lines {
		t.Run(l.source, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 2, "")
			h.gs.SetClock(time.Now)
			h.ss.SetClock(time.Now)
			ca := h.writeFile("ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.gs.Certificate().Raw})))
			h.configure(cfgOpts{starface: "  ca_file: " + ca + "\n"})
			h.setPresence(0, "Busy", "InACall")

			bin := filepath.Join(h.dir, "bin")
			run := filepath.Join(h.dir, "run")
			for _, d := range []string{bin, run} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			// The test binary is teamsface with TEAMSFACE_TEST_MAIN=1 (see TestMain); exec keeps
			// the pid, so timeout's signal reaches it.
			writeScript(t, filepath.Join(bin, "teamsface"), "#!/bin/sh\nTEAMSFACE_TEST_MAIN=1 SSL_CERT_FILE="+ca+" exec "+os.Args[0]+` "$@"`+"\n")
			writeScript(t, filepath.Join(bin, "sleep"), "#!/bin/sh\nexit 0\n")
			paths := strings.NewReplacer(
				"/usr/local/bin/teamsface", filepath.Join(bin, "teamsface"),
				"/usr/bin/teamsface", filepath.Join(bin, "teamsface"),
				"/etc/teamsface/mapping.yaml", h.cfgPath,
				"/var/lib/teamsface", h.stateDir,
				"/run/teamsface/", run+"/",
			)
			// What cron gives a job: a minimal environment and the crontab's variables.
			env := []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + h.dir, "SHELL=/bin/sh", "LANG=C"}
			for k, v := range l.env {
				env = append(env, k+"="+paths.Replace(v))
			}
			var c *exec.Cmd
			if l.shell != "" {
				c = exec.Command("/bin/sh", "-c", paths.Replace(l.shell))
			} else {
				args := strings.Fields(paths.Replace(strings.Join(l.args, " ")))
				args[0] = strings.Replace(args[0], "teamsface", filepath.Join(bin, "teamsface"), 1)
				c = exec.Command(args[0], args[1:]...)
			}
			c.Env = env
			for _, a := range append(c.Args, env...) {
				for _, w := range strings.FieldsFunc(a, func(r rune) bool { return r == ' ' || r == '=' || r == ';' }) {
					for _, sys := range []string{"/etc/", "/var/", "/run/", "/usr/"} {
						if strings.HasPrefix(w, sys) {
							t.Fatalf("the test does not know where to point %s", w)
						}
					}
				}
			}
			var output bytes.Buffer
			c.Stdout, c.Stderr = &output, &output
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(strings.Fields(l.shell), "timeout") {
				// The time is up once a pass is done: timeout's timer, early.
				waitFor(t, "a pass", func() bool { _, err := os.Stat(filepath.Join(h.stateDir, "state.json")); return h.dnd(0) && err == nil })
				timeoutOf(t, c.Process.Pid).Signal(syscall.SIGALRM)
			}
			err := c.Wait()
			out := output.Bytes()
			if err != nil {
				t.Errorf("%v", err)
			}
			if len(out) > 0 {
				t.Errorf("printed (cron mails it; the journal gets it every run):\n%s", out)
			}
			if !h.dnd(0) {
				t.Error("the line ran no pass: the DND of the user in a call is off")
			}
		})
	}
}

// timeoutOf finds the timeout(1) process the shell with this pid runs (the shell itself when it
// exec'd it), from /proc.
func timeoutOf(t *testing.T, shell int) *os.Process {
	t.Helper()
	var found int
	waitFor(t, "timeout(1) to start", func() bool {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
			ppid, _ := strconv.Atoi(strings.Fields(rest)[1])
			if strings.Contains(string(stat), "(timeout)") && (pid == shell || ppid == shell) {
				found = pid
				return true
			}
		}
		return false
	})
	p, err := os.FindProcess(found)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writeScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o700); err != nil {
		t.Fatal(err)
	}
}
