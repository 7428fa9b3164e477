# teamsface as a container: `sync watch` as a non-root user, state on a volume.
#
#   docker build --build-arg VERSION=1.2.3 --build-arg COMMIT="$(git rev-parse HEAD)" \
#     --build-arg COMMIT_TIME="$(git show -s --format=%cI HEAD)" -t teamsface .
#   docker run -d --name teamsface-pbx1 --restart on-failure:5 --stop-timeout 120 \
#     -v teamsface-pbx1:/var/lib/teamsface \
#     -v /srv/teamsface/pbx1/mapping.yaml:/etc/teamsface/mapping.yaml:ro \
#     -e TEAMSFACE_CLIENT_SECRET -e STARFACE_PASSWORD teamsface
#
# One container per PBX, each with its own volume: the state directory's lock lets only one
# teamsface use it at a time. deploy/kubernetes/ has the same for Kubernetes.
#
# The base images are named by tag, not pinned by digest: this file was written where no registry
# could be reached to read their digests, and a digest not read from the registry could name
# another image or none. To pin them, read each tag's digest (crane digest IMAGE:TAG, or the
# Digest: line of docker buildx imagetools inspect IMAGE:TAG: the multi-platform index's, so that
# arm64 builds keep working) and write it as IMAGE:TAG@sha256:...

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A release build passes its version and commit (.git is not copied in, so Go cannot find them).
ARG VERSION=""
ARG COMMIT=""
ARG COMMIT_TIME=""
RUN CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X github.com/teamsface/teamsface/cmd.version=${VERSION} -X github.com/teamsface/teamsface/cmd.commit=${COMMIT} -X github.com/teamsface/teamsface/cmd.commitTime=${COMMIT_TIME}" \
        -o /out/teamsface . \
    && mkdir -m 0700 /out/state

# Static binary, no shell, no package manager; distroless' nonroot user is 65532.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
ARG COMMIT=""
LABEL org.opencontainers.image.title="teamsface" \
      org.opencontainers.image.description="Keep Microsoft Teams presence and STARFACE Do-Not-Disturb in step" \
      org.opencontainers.image.source="https://github.com/teamsface/teamsface" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
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
# --metrics-listen: /metrics for Prometheus and /healthz (200 while passes finish, else 503).
EXPOSE 9464
# No HEALTHCHECK: Docker runs a health check inside the container, and this image has no program
# that could ask /healthz (no shell, no curl: that is the point of distroless). Docker would only
# report the result anyway, never restart on it; probe /healthz from outside instead, as
# deploy/kubernetes/teamsface.yaml's livenessProbe does, or alert on the metrics.
# sync watch finishes the pass in flight on SIGTERM and saves its state: give it up to 2 minutes
# (docker stop -t 120, docker run --stop-timeout 120; Docker's default is 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/teamsface"]
CMD ["sync", "watch", "--interval", "10s", "--metrics-listen", ":9464"]
