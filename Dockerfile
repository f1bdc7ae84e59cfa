# Multi-stage build: a static entralake binary on a distroless base, run as
# a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/entralake ./cmd/entralake

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/entralake /usr/local/bin/entralake
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/entralake"]
