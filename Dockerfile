# teamsface as a container: `sync watch` as a non-root user, state on a volume.
#
#   docker build -t teamsface .
#   docker run -d --name teamsface-pbx1 -v teamsface-pbx1:/var/lib/teamsface \
#     -v /srv/teamsface/pbx1/mapping.yaml:/etc/teamsface/mapping.yaml:ro \
#     -e TEAMSFACE_CLIENT_SECRET -e STARFACE_PASSWORD teamsface
#
# One container per PBX, each with its own volume: the state directory's lock lets only one
# teamsface use it at a time. deploy/kubernetes/ has the same for Kubernetes.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A release build passes its version: docker build --build-arg VERSION=1.2.3 .
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X github.com/teamsface/teamsface/cmd.version=${VERSION}" \
        -o /out/teamsface . \
    && mkdir -m 0700 /out/state

# Static binary, no shell, no package manager; distroless' nonroot user is 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/teamsface /usr/bin/teamsface
# The volume's mount point belongs to the user, so a new named volume does too.
COPY --from=build --chown=65532:65532 /out/state /var/lib/teamsface
USER 65532:65532
# The state directory is inside the volume, not its root: a Kubernetes volume's root belongs to
# root with the pod's fsGroup, which teamsface cannot make private (0700); a directory it creates
# itself, it can.
ENV TEAMSFACE_CONFIG=/etc/teamsface/mapping.yaml \
    TEAMSFACE_STATE_DIR=/var/lib/teamsface/state
VOLUME ["/var/lib/teamsface"]
ENTRYPOINT ["/usr/bin/teamsface"]
CMD ["sync", "watch", "--interval", "10s"]
