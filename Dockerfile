# syntax=docker/dockerfile:1
#
# A static entralake binary (CGO_ENABLED=0: the main module has no cgo) on
# distroless static, run as its non-root user (65532).
#
#   docker build -t entralake .
#   docker run --rm entralake --help
#
# The image has no shell: `docker compose exec writer entralake status ...`
# runs the binary itself.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# Only the main module's packages: the build context also holds the e2e and
# bench modules, .tools (Azurite's node_modules) and the quick start's lake.
# e2e/deploy_test.go checks that these cover every package of the binary.
COPY cmd ./cmd
COPY internal ./internal
COPY lake ./lake
COPY schema ./schema
COPY source ./source
COPY stages ./stages
COPY workers ./workers
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/entralake ./cmd/entralake

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/entralake /usr/local/bin/entralake
USER nonroot:nonroot
# --metrics-addr 0.0.0.0:9464: /metrics, /healthz and /readyz.
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/entralake"]
