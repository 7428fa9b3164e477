package cmd

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/teamsface/teamsface/mapping"
)

// newManCmd writes the manual pages, generated from the command tree so that they say what
// --help says. Release builds run it (.goreleaser.yaml's before hook) and ship the pages in the
// archives and packages; it is hidden because nobody needs it at a prompt.
func newManCmd(g *globals) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "man",
		Short: "Write teamsface's manual pages (troff, gzipped) into a directory",
		Long: `Write the manual pages into --dir, laid out as a man directory (man -M DIR teamsface): man1/
has teamsface(1), with the files, environment variables and exit codes, and one page per
command; man5/ has teamsface-config(5), the configuration file's keys. The pages are gzipped
without a name or time in the header (gzip -9n), dated $SOURCE_DATE_EPOCH when set, and name
this binary's version, so that a release build gives the same bytes every time.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			date, err := manDate(g)
			if err != nil {
				return err
			}
			if err := writeManPages(c.Root(), dir, date); err != nil {
				return fmt.Errorf("write manual pages: %w", err)
			}
			fmt.Fprintf(g.deps.Stderr, "Wrote the manual pages into %s.\n", dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "manpages", "directory to write the pages into (created if missing)")
	return c
}

// windowsOnly are commands the manual leaves out: they work on Windows only, which has no man(1);
// there, their --help is their manual.
var windowsOnly = map[string]bool{"service": true}

// writeManPages writes dir/man1/*.1.gz and dir/man5/teamsface-config.5.gz.
func writeManPages(root *cobra.Command, dir string, date time.Time) error {
	root.DisableAutoGenTag = true
	for _, c := range root.Commands() {
		if windowsOnly[c.Name()] {
			c.Hidden = true // leaves it out of the pages and out of teamsface(1)'s SEE ALSO
		}
	}
	v, _, _ := buildInfo()
	// No Title: cobra then titles each page after its command, TEAMSFACE-SYNC-ONCE(1).
	header := doc.GenManHeader{Section: "1", Date: &date, Source: "teamsface " + v, Manual: "teamsface manual"}
	for _, sub := range []string{"man1", "man5"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		for _, s := range c.Commands() {
			// Help topics (exit-codes, config) are not commands: teamsface(1)'s EXIT STATUS and
			// teamsface-config(5) hold them.
			if s.IsAvailableCommand() && !s.IsAdditionalHelpTopicCommand() {
				if err := walk(s); err != nil {
					return err
				}
			}
		}
		var page bytes.Buffer
		h := header // GenMan fills in the title
		if err := doc.GenMan(c, &h, &page); err != nil {
			return err
		}
		text := page.String()
		if c == root {
			var err error
			if text, err = rootManSections(root, text); err != nil {
				return err
			}
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1.gz"
		return writeGzip(filepath.Join(dir, "man1", name), text)
	}
	if err := walk(root); err != nil {
		return err
	}
	return writeGzip(filepath.Join(dir, "man5", "teamsface-config.5.gz"), configManPage(header))
}

// writeGzip writes text gzipped at the best compression, with no name and no time in the header
// (gzip -9n, as Debian policy asks of manual pages): the same text gives the same bytes.
func writeGzip(path, text string) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write([]byte(text)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// rootManSections adds EXIT STATUS, ENVIRONMENT and FILES to teamsface(1), where man-pages(7)
// puts them: after the options, before the examples.
func rootManSections(root *cobra.Command, page string) (string, error) {
	codes, notes, err := exitCodes(exitCodeHelp)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, c := range codes {
		fmt.Fprintf(&b, ".TP\n\\fB%d\\fP\n%s\n", c.code, roff(c.text))
	}
	for _, n := range notes {
		fmt.Fprintf(&b, ".PP\n%s\n", roff(n))
	}

	b.WriteString(".SH ENVIRONMENT\n.TP\n\\fBTEAMSFACE_\\fIFLAG\\fP\n" +
		roff("Any flag of the command being run, named in upper case with - as _ (TEAMSFACE_INTERVAL is sync watch's --interval); a flag on the command line wins. The global ones:") + "\n")
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		name := "TEAMSFACE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fP\n%s\n", roff(name), roff("--"+f.Name+": "+f.Usage))
	})
	for _, e := range []struct{ name, text string }{
		{mapping.DefaultClientSecretEnv, "the Entra client secret, unless the configuration names another variable (microsoft.client_secret_env) or a file (microsoft.client_secret_file)"},
		{mapping.DefaultPasswordEnv, "the STARFACE administrator's password, unless the configuration names another variable (starface.password_env) or a file (starface.password_file)"},
		{mapping.DefaultStarfaceClientSecretEnv, "STARFACE 10's OAuth client secret, likewise (starface.client_secret_env, starface.client_secret_file)"},
		{"XDG_CONFIG_HOME, HOME", "where the configuration is looked for (see FILES)"},
		{"XDG_STATE_HOME, HOME", "where the state directory is by default (see FILES)"},
		{"CREDENTIALS_DIRECTORY", "set by systemd for LoadCredential=: secret files directly in it may have the group read bit systemd's ACL shows"},
		{"SSL_CERT_FILE, SSL_CERT_DIR", "where the trusted certificate authorities are read from instead of the system's usual places; for the PBX, starface.ca_file and starface.fingerprint decide as teamsface-config(5) says"},
		{"GOGC", "the Go garbage collector's target; teamsface sets its own lower default when it is unset"},
	} {
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fP\n%s\n", roff(e.name), roff(e.text))
	}

	b.WriteString(".SH FILES\n")
	for _, f := range []struct{ name, text string }{
		{"/etc/teamsface/mapping.yaml", "The configuration (see teamsface-config(5)) the packages' systemd units use. Without --config or TEAMSFACE_CONFIG, teamsface takes the first of ./mapping.yaml, $XDG_CONFIG_HOME/teamsface/mapping.yaml (~/.config/teamsface/mapping.yaml without XDG_CONFIG_HOME) and /etc/teamsface/mapping.yaml that exists."},
		{"/etc/teamsface/env", "Optional variables for the units, the secrets above for instance: KEY=VALUE lines read by systemd as root (EnvironmentFile=); keep it root's, mode 0600."},
		{"/etc/teamsface/NAME/mapping.yaml, /etc/teamsface/NAME/env", "The same for the instance teamsface@NAME.service."},
		{"/var/lib/teamsface", "The state directory of the packages' units (/var/lib/teamsface/NAME for teamsface@NAME). Without --state-dir or TEAMSFACE_STATE_DIR it is $XDG_STATE_HOME/teamsface, i.e. ~/.local/state/teamsface. It holds state.json (which DND teamsface switched on, which Teams sessions it set), match.json, journal, token-graph.json, token-starface.json and lock; every run for an installation must use its one state directory."},
		{"/run/teamsface/teamsface.prom", "The metrics the units write after every pass (--metrics-file; /run/teamsface/NAME.prom for teamsface@NAME)."},
		{"/usr/share/teamsface/mapping.example.yaml", "An example configuration, from the packages."},
	} {
		fmt.Fprintf(&b, ".TP\n\\fI%s\\fP\n%s\n", roff(f.name), roff(f.text))
	}

	// Before the examples, or before SEE ALSO when there are none.
	at := strings.Index(page, "\n.SH EXAMPLE\n")
	if at < 0 {
		at = strings.Index(page, "\n.SH SEE ALSO\n")
	}
	if at < 0 {
		return "", fmt.Errorf("teamsface(1) has neither EXAMPLE nor SEE ALSO to put EXIT STATUS before")
	}
	page = page[:at+1] + b.String() + page[at+1:]
	// The configuration's own page, which GenMan does not know of.
	if !strings.HasSuffix(page, "\n") {
		page += "\n"
	}
	see := strings.LastIndex(page, "\n.SH SEE ALSO\n")
	if see < 0 {
		return "", fmt.Errorf("teamsface(1) has no SEE ALSO")
	}
	return strings.TrimSuffix(page, "\n") + ", \\fBteamsface-config(5)\\fP\n", nil
}

// exitCode is one entry of `teamsface help exit-codes`.
type exitCode struct {
	code int
	text string
}

var exitCodeLine = regexp.MustCompile(`^  (\d+)  (.*)$`)

// exitCodes reads exitCodeHelp: a heading line, "  N  text" entries whose continuation lines are
// indented further, a blank line, then paragraphs of notes.
func exitCodes(help string) ([]exitCode, []string, error) {
	head, rest, _ := strings.Cut(help, "\n\n")
	var codes []exitCode
	for i, line := range strings.Split(head, "\n")[1:] {
		switch m := exitCodeLine.FindStringSubmatch(line); {
		case m != nil:
			code, _ := strconv.Atoi(m[1])
			codes = append(codes, exitCode{code, m[2]})
		case len(codes) > 0 && strings.HasPrefix(line, "     "):
			codes[len(codes)-1].text += " " + strings.TrimSpace(line)
		default:
			return nil, nil, fmt.Errorf("exit codes help: line %d %q is neither a code nor its continuation", i+2, line)
		}
	}
	if len(codes) == 0 {
		return nil, nil, fmt.Errorf("exit codes help: no codes")
	}
	var notes []string
	for p := range strings.SplitSeq(rest, "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			notes = append(notes, p)
		}
	}
	return codes, notes, nil
}

// configManPage is teamsface-config(5): every key the configuration file accepts.
func configManPage(h doc.GenManHeader) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".nh\n.TH \"TEAMSFACE\\-CONFIG\" \"5\" \"%s\" \"%s\" \"%s\"\n\n", h.Date.Format("Jan 2006"), h.Source, h.Manual)
	b.WriteString(".SH NAME\nteamsface\\-config \\- " + roff("teamsface's configuration file, mapping.yaml") + "\n\n")
	b.WriteString(".SH SYNOPSIS\n\\fI/etc/teamsface/mapping.yaml\\fP, \\fI/etc/teamsface/NAME/mapping.yaml\\fP, " +
		"\\fI$XDG_CONFIG_HOME/teamsface/mapping.yaml\\fP, \\fI./mapping.yaml\\fP\n\n")
	b.WriteString(".SH DESCRIPTION\n" + roff(`A YAML file: how teamsface signs in to Microsoft Entra and reaches Graph (microsoft), how it reaches the STARFACE PBX (starface), which users take part (users) and which Teams presence puts a phone on Do-Not-Disturb (rules, checked by tests). Unknown keys and values are errors that name the line.`) +
		"\n.PP\n" + roff(`Secrets never go in the file: they come from an environment variable or a file only its owner can read (mode 0600), named by the keys below. "teamsface mapping check FILE" checks a file and shows its decision table; "teamsface help config" lists the keys too.`) + "\n\n")
	b.WriteString(".SH KEYS\n")
	for _, k := range mapping.Keys() {
		def := k.Default
		if def == "" {
			def = "none"
		}
		what := k.Type + ", default " + def
		if k.Type == "" {
			what = "default " + def
		}
		fmt.Fprintf(&b, ".TP\n\\fB%s\\fP (%s)\n%s\n", roff(k.Key), roff(what), roff(k.Meaning))
	}
	b.WriteString("\n.SH FILES\n.TP\n\\fI/usr/share/teamsface/mapping.example.yaml\\fP\n" + roff("An example, from the packages.") + "\n\n")
	b.WriteString(".SH SEE ALSO\n\\fBteamsface(1)\\fP, \\fBteamsface\\-mapping\\-check(1)\\fP\n")
	return b.String()
}

// roff makes text safe on a troff text line: a backslash is printed as one, a hyphen stays the
// ASCII one (so that options copied from the page work), and a leading . or ' is not a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// manDate is $SOURCE_DATE_EPOCH (reproducible builds) or now.
func manDate(g *globals) (time.Time, error) {
	s := g.deps.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return g.deps.Now(), nil
	}
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, usagef("environment variable SOURCE_DATE_EPOCH=%q is not valid; use seconds since 1970", s)
	}
	return time.Unix(secs, 0).UTC(), nil
}
