package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCmd writes the manual pages, one per command, generated from the command tree, so they
// say what --help says. Release builds run it (.goreleaser.yaml's before hook) and ship the pages
// in the archives and packages; it is hidden because nobody needs it at a prompt.
func newManCmd(g *globals) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:    "man",
		Short:  "Write teamsface's manual pages (troff) into a directory",
		Long:   "Write one manual page (section 1) per command into --dir. The date on the pages is $SOURCE_DATE_EPOCH when set, so that release builds are reproducible.",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			date, err := manDate(g)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write manual pages: %w", err)
			}
			root := c.Root()
			root.DisableAutoGenTag = true
			v, _, _ := buildInfo()
			header := &doc.GenManHeader{Title: "TEAMSFACE", Section: "1", Date: &date,
				Source: "teamsface " + v, Manual: "teamsface manual"}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("write manual pages: %w", err)
			}
			// GenManTree leaves out help topics; exit codes and configuration keys belong in a
			// manual all the same: teamsface-exit-codes(1), teamsface-config(1).
			for _, t := range root.Commands() {
				if t.IsAdditionalHelpTopicCommand() {
					if err := writeManPage(t, header, filepath.Join(dir, "teamsface-"+t.Name()+".1")); err != nil {
						return err
					}
				}
			}
			fmt.Fprintf(g.deps.Stderr, "Wrote the manual pages into %s.\n", dir)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "manpages", "directory to write the pages into (created if missing)")
	return c
}

func writeManPage(c *cobra.Command, header *doc.GenManHeader, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write manual pages: %w", err)
	}
	h := *header // GenMan fills in the title per command
	if err := doc.GenMan(c, &h, f); err != nil {
		f.Close()
		return fmt.Errorf("write manual pages: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write manual pages: %w", err)
	}
	return nil
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
