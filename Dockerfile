# syntax=docker/dockerfile:1
# Build: a static binary, no cgo.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/logshipper ./cmd/logshipper \
 && mkdir -p /out/data \
 && echo 'logshipper:x:10514:10514:logshipper:/var/lib/logshipper:/sbin/nologin' > /out/passwd \
 && echo 'logshipper:x:10514:' > /out/group

# Run: nothing but the binary, CA certificates (for https Elasticsearch)
# and a writable data directory, as an unprivileged user.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="logshipper" \
      org.opencontainers.image.description="Syslog (TCP, UDP, TLS; RFC3164 and RFC5424) into Elasticsearch" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build /out/logshipper /usr/local/bin/logshipper
COPY --from=build --chown=10514:10514 /out/data /var/lib/logshipper/data
COPY configs/logshipper.yaml /etc/logshipper/logshipper.yaml
WORKDIR /var/lib/logshipper
USER 10514:10514
# 10514 and not 514: a non-root process cannot bind ports below 1024; the
# Swarm routing mesh publishes 514 → 10514 (--publish 514:10514).
EXPOSE 10514/tcp 10514/udp 9600
STOPSIGNAL SIGTERM
# The binary checks its own /healthz: no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/logshipper", "health"]
ENTRYPOINT ["/usr/local/bin/logshipper"]
