package graphtest

// What happens to a request before a Graph or Entra handler sees it: its body is decoded from
// the Content-Encoding Graph accepts, and a path or method the double does not route is answered
// in the service's own error JSON, as Graph and Entra answer, never in net/http's plain text,
// which SDKs cannot read.

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/teamsface/teamsface/internal/doubles"
)

// serve is the double's front door: every request goes through the request log and the faults
// (doubles.Serve), and then to route.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	service := http.Handler(http.HandlerFunc(s.route))
	if !isEntraPath(r.URL.Path) {
		if refusal := decodeContent(r); refusal != nil {
			service = refusal
		}
	}
	doubles.Serve(&s.httpDouble, w, r, service, answerFault)
}

// route hands the request to the Entra half or to Graph's route for it, or answers, in Graph's
// error JSON, that there is none:
//   - any version but v1.0, or none: 400 BadRequest "Invalid version." (what Graph answers for
//     https://graph.microsoft.com/me; the double serves v1.0 only, so /beta/ gets it too);
//   - a path that is not clean, such as /v1.0//users: 400 BadRequest, "Resource not found for
//     the segment" naming the empty segment (ServeMux would answer it with a redirect of its
//     own, to a GET for a POST, which Graph does not do);
//   - see serveUnrouted for the rest.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case isEntraPath(r.URL.Path):
		s.serveEntra(w, r)
	case r.URL.Path != "/v1.0" && !strings.HasPrefix(r.URL.Path, "/v1.0/"):
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid version.")
	case !isCleanPath(r.URL.Path):
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment ''.")
	case s.hasRoute(r):
		s.mux.ServeHTTP(w, r)
	default:
		s.serveUnrouted(w, r)
	}
}

func (s *Server) hasRoute(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return pattern != ""
}

// isCleanPath is ServeMux's notion of a canonical path: no empty, "." or ".." segment, a
// trailing slash allowed.
func isCleanPath(p string) bool {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// routeMethods are the methods a Graph route of the double can have; a path that has a route
// for one of them but not for the request's method gets 405.
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// serveUnrouted answers a request under /v1.0/ the double has no route for, as Graph does:
//   - a known path with another method: 405 with Allow, code Request_BadRequest, "Specified
//     HTTP method is not allowed for the request target." (what Graph's directory answers, e.g.
//     a GET of an action; microsoftgraph/microsoft-graph-docs#119);
//   - a segment Graph does not know: 400 BadRequest "Resource not found for the segment
//     '<segment>'." (Graph's OData layer; not a 404 Request_ResourceNotFound, which says that an
//     object the URL names right does not exist).
func (s *Server) serveUnrouted(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range routeMethods {
		alt := r.Clone(r.Context())
		alt.Method = m
		if s.hasRoute(alt) {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeGraphError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	writeGraphError(w, r, http.StatusBadRequest, "BadRequest",
		fmt.Sprintf("Resource not found for the segment '%s'.", unknownSegment(segs)))
}

// unknownSegment is the first segment of an escaped path (split at "/") that no route of the
// double has at that place, unescaped; for a path that is all known segments but no route (the
// beginning of one) it is the last.
func unknownSegment(segs []string) string {
	i := 0
	for ; i < len(segs); i++ {
		if !graphRoutesHave(segs[:i+1]) {
			break
		}
	}
	i = min(i, len(segs)-1)
	seg, err := url.PathUnescape(segs[i])
	if err != nil {
		return segs[i]
	}
	return seg
}

// graphRoutesHave reports whether some Graph route starts with these escaped segments; a
// {wildcard} in a route matches any non-empty segment.
func graphRoutesHave(segs []string) bool {
	for _, rt := range graphRoutes {
		parts := strings.Split(strings.TrimPrefix(rt.path, "/"), "/")
		if len(parts) < len(segs) {
			continue
		}
		match := true
		for i, seg := range segs {
			if p := parts[i]; p != seg && !(strings.HasPrefix(p, "{") && seg != "") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// Request bodies may come compressed. Microsoft's Graph SDKs gzip every request body by default
// and send it once more uncompressed only when the answer is 415 (msgraph-sdk-design,
// middleware/CompressionHandler.md; kiota-http-go's CompressionHandler, which msgraph-sdk-go
// installs), and Graph takes them: "Content-Encoding: gzip" is what Graph accepts. Nothing
// documents deflate or br for Graph, so the double refuses them, with the 415 that makes the SDK
// send the body plain, and names gzip in Accept-Encoding as RFC 7694 asks of a server that
// refuses a content coding. Entra's token endpoints are left as they were: no client compresses
// a token request and nothing says Entra would take one.

// undecodable is Graph's answer to a body it cannot read (quoted in the same design document,
// for a Graph that could not decompress a body).
const undecodable = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."

// decodeContent replaces r's body with its decoded bytes (so that the handlers, and the request
// log, read plain JSON) and returns nil; or, when the body cannot be decoded, leaves it as it
// came and returns the handler that answers the refusal.
func decodeContent(r *http.Request) http.Handler {
	codings := contentCodings(r.Header)
	if len(codings) == 0 {
		return nil
	}
	for _, c := range codings {
		if c != "gzip" && c != "x-gzip" && c != "identity" {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Accept-Encoding", "gzip")
				writeGraphError(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType",
					fmt.Sprintf("Content-Encoding '%s' is not supported; use gzip or none.", c))
			})
		}
	}
	raw, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return refuseUndecodable
	}
	data := raw
	// Codings are listed in the order they were applied; undo them from the last.
	for i := len(codings) - 1; i >= 0; i-- {
		if codings[i] == "identity" || len(data) == 0 {
			continue
		}
		if data, err = gunzip(data); err != nil {
			return refuseUndecodable
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	return nil
}

var refuseUndecodable = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	writeGraphError(w, r, http.StatusBadRequest, "BadRequest", undecodable)
})

// contentCodings lists the request's content codings, lower case, in the order applied.
func contentCodings(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}
