package cmd

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readme returns README.md.
func readme(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// checkXML says whether text is a well-formed XML document: one root element, and the XML
// declaration, if any, at the very start (encoding/xml does not check that; launchd's parser
// refuses a plist with a comment before it).
func checkXML(text string) error {
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = true
	roots, depth := 0, 0
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.ProcInst:
			if strings.EqualFold(tok.Target, "xml") && offset != 0 {
				return errors.New("the XML declaration is not at the very start of the document")
			}
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(tok)) != "" {
				return errors.New("text outside the root element")
			}
		}
	}
	if roots != 1 {
		return errors.New("not exactly one root element")
	}
	return nil
}

func TestCheckXML(t *testing.T) {
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`<?xml version="1.0"?><!-- c --><a><b/></a>`, true},
		{`<a/>`, true},
		{"<!-- c -->\n<?xml version=\"1.0\"?><a/>", false},
		{"\n<?xml version=\"1.0\"?><a/>", false},
		{`<a/><b/>`, false},
		{`<a><b></a>`, false},
		{`x<a/>`, false},
	} {
		if err := checkXML(tc.doc); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.doc, err, tc.ok)
		}
	}
}

// Every ```xml block of the README is copied into a file by someone: each must be well-formed.
func TestReadmeXMLBlocksAreWellFormed(t *testing.T) {
	n := 0
	for _, f := range fences(readme(t)) {
		if f.lang != "xml" {
			continue
		}
		n++
		if err := checkXML(f.body); err != nil {
			t.Errorf("README ```xml block %d: %v:\n%s", n, err, f.body)
		}
	}
	if n == 0 {
		t.Fatal("README has no ```xml block; the launchd plist is gone?")
	}
}

// wellKnownDirs exist on every system the README's commands are meant for.
var wellKnownDirs = map[string]bool{
	"/etc": true, "/etc/systemd/system": true, "/usr/local/bin": true, "/etc/cron.d": true,
	"/Library/LaunchDaemons": true, "/usr/bin": true,
}

// TestReadmeCopiesIntoDirectoriesThatExist follows the README's shell blocks in order: a cp or
// install into a system directory must come after the command that creates it (the quick start's
// "cp ... /etc/teamsface/" failed on a fresh machine).
func TestReadmeCopiesIntoDirectoriesThatExist(t *testing.T) {
	made := map[string]bool{}
	copies := 0
	for _, f := range fences(readme(t)) {
		if f.lang != "sh" {
			continue
		}
		for _, line := range strings.Split(strings.ReplaceAll(f.body, "\\\n", " "), "\n") {
			if i := strings.Index(line, "#"); i >= 0 {
				line = line[:i]
			}
			words := strings.Fields(line)
			if len(words) > 0 && words[0] == "sudo" {
				words = words[1:]
			}
			if len(words) < 2 || (words[0] != "cp" && words[0] != "install" && words[0] != "mkdir") {
				continue
			}
			var args []string
			dirMode := words[0] == "mkdir"
			for i := 1; i < len(words); i++ {
				switch w := words[i]; {
				case w == "-d" || w == "-p":
					dirMode = true
				case w == "-m" || w == "-o" || w == "-g":
					i++ // the option's value
				case strings.HasPrefix(w, "-"):
				default:
					args = append(args, w)
				}
			}
			if dirMode {
				for _, d := range args {
					made[filepath.Clean(d)] = true
				}
				continue
			}
			if len(args) < 2 {
				continue
			}
			dest := args[len(args)-1]
			dir := filepath.Dir(dest)
			if strings.HasSuffix(dest, "/") {
				dir = filepath.Clean(dest)
			}
			if !strings.HasPrefix(dir, "/") {
				continue // relative to wherever the reader is
			}
			copies++
			if !made[dir] && !wellKnownDirs[dir] {
				t.Errorf("README: %q copies into %s, which no earlier command creates", strings.TrimSpace(line), dir)
			}
		}
	}
	if copies == 0 {
		t.Fatal("found no cp or install into a system directory in the README")
	}
}
