package cmd

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/teamsface/teamsface/cmd/internal/pass"
)

// levelTrace is below debug: it explains each user's decision.
const levelTrace = pass.LevelTrace

var logLevels = map[string]slog.Level{
	"error": slog.LevelError,
	"warn":  slog.LevelWarn,
	"info":  slog.LevelInfo,
	"debug": slog.LevelDebug,
	"trace": levelTrace,
}

// secretKeys are attribute keys whose values are never printed, whoever logs them. The clients
// never log secrets; this is the second line of defence.
var secretKeys = []string{"password", "secret", "token", "authorization", "assertion", "authtoken", "device_code", "refresh"}

func (g *globals) logger() *slog.Logger {
	return newLogger(g.deps.Stderr, g.logFormat, logLevels[g.logLevel])
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey && a.Value.Any() == levelTrace {
				a.Value = slog.StringValue("TRACE")
			}
			k := strings.ToLower(a.Key)
			for _, s := range secretKeys {
				if strings.Contains(k, s) {
					return slog.String(a.Key, "[redacted]")
				}
			}
			return a
		},
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
