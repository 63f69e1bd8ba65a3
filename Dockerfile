# The ntx image for fleets (docs/fleet.md): one static binary, run as a
# non-root user, nothing else. No container runtime exists where ntx is
# developed, so this file is kept minimal enough to check by reading.
#
#   docker build -t registry.example/ntx:1.0 --build-arg VERSION=1.0 .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: a static binary that needs no libc in the image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ntx ./cmd/ntx

FROM scratch
# CA certificates, for scenarios that call HTTPS targets.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ntx /ntx
# The same non-root user the manifests of `ntx kube` ask for.
USER 65532:65532
ENTRYPOINT ["/ntx"]
