package onehub

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/teamsface/teamsface/starface"
)

// Error is a failed OneHub call: the gRPC status the PBX (or the gRPC transport) answered, or a
// cause found on our side (no access token, a TLS handshake that failed, a context that ended).
// Callers branch on Code with errors.As or the Is* helpers: Unavailable means OneHub cannot be
// reached (fall back to REST), PermissionDenied that the signed-in user may not read a user's
// presence, Unauthenticated that even a fresh token was refused.
type Error struct {
	Op   string     // what was being done, e.g. "subscribe presence states"
	Code codes.Code // gRPC status code
	Msg  string     // the status message, or what we were doing when Err happened
	Err  error      // the cause on our side, if any (TLS, token, context)
}

// Error reads "starface onehub: subscribe presence states: permission denied: not allowed".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("starface onehub: ")
	if e.Op != "" {
		sb.WriteString(e.Op)
		sb.WriteString(": ")
	}
	sb.WriteString(codeText(e.Code))
	if e.Msg != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Msg)
	}
	if e.Err != nil {
		sb.WriteString(": ")
		sb.WriteString(e.Err.Error())
	}
	return sb.String()
}

func (e *Error) Unwrap() error { return e.Err }

// codeText writes a code the way the rest of teamsface writes statuses: "permission denied".
func codeText(c codes.Code) string {
	var sb strings.Builder
	for i, r := range c.String() {
		if unicode.IsUpper(r) {
			if i > 0 {
				sb.WriteByte(' ')
			}
			r = unicode.ToLower(r)
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// FingerprintError says that OneHub presented a certificate other than the pinned one; trust is
// decided as for the REST client (starface.TLSConfig). It comes wrapped in an *Error (code
// Unavailable), which names the service.
type FingerprintError = starface.FingerprintError

// IsUnavailable reports whether OneHub could not be reached (network, TLS, PBX down).
func IsUnavailable(err error) bool { return hasCode(err, codes.Unavailable) }

// IsPermissionDenied reports whether OneHub refused the call for lack of a right, e.g. a
// subscription to another user's presence.
func IsPermissionDenied(err error) bool { return hasCode(err, codes.PermissionDenied) }

// IsUnauthenticated reports whether OneHub refused the token (also after one refresh) or no
// token could be had.
func IsUnauthenticated(err error) bool { return hasCode(err, codes.Unauthenticated) }

func hasCode(err error, c codes.Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}

// newError turns what a gRPC call returned into an *Error. A context of ours that ended is kept
// as the cause, so that errors.Is(err, context.Canceled) works.
func newError(ctx context.Context, op string, err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if ctx.Err() != nil {
		return &Error{Op: op, Code: status.FromContextError(ctx.Err()).Code(), Err: ctx.Err()}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Op: op, Code: codes.Unknown, Err: err}
	}
	return &Error{Op: op, Code: st.Code(), Msg: st.Message()}
}
