// Package onehub is teamsface's client for STARFACE 10's OneHub gRPC interface (see
// ../shared/api/starface-onehub.md): the mapping of REST user ids to OneHub ids, a one-shot read
// of many users' DND and call state (ReadPresence, for `sync once`), and a stream of their
// changes (Watch, for `sync watch`).
//
// OneHub is undocumented: what we know comes from the descriptors a third-party client
// extracted from the STARFACE app. So this is experimental and opt-in; the REST path stays the
// default and the fallback. Writing DND stays REST (OneHub's own DND setter acts only for the
// signed-in user).
//
// Every call carries `authorization: Bearer <OAuth access token>` as per-RPC credentials (only
// ever over TLS); UNAUTHENTICATED drops the token, takes a fresh one and retries once. Errors are
// *Error, whose text starts with "starface onehub: ".
//
// The Go code under internal/pb is generated from our own .proto files under proto/, which
// keep the package, service and field names and numbers exactly as the descriptors have them
// (they make the method paths and the wire format). To regenerate, install protoc (Debian:
// protobuf-compiler) and the two plugins at the versions named in the generated files' headers:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./starface/onehub
package onehub

//go:generate protoc -I proto --go_out=. --go_opt=module=github.com/teamsface/teamsface/starface/onehub --go-grpc_out=. --go-grpc_opt=module=github.com/teamsface/teamsface/starface/onehub gamma/onehub/api/v1/types/types.proto gamma/onehub/api/v1/useridlookup/useridlookup.proto gamma/onehub/api/v1/presence/presence.proto
