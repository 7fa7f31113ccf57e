# Postern's container image: one static binary in an otherwise empty image,
# running as an unprivileged user, data in the /var/lib/postern volume,
# config at /etc/postern/config.toml.
#
# Two ways to build it (see docs/deploy.md):
#
#   docker build -t postern .
#       compiles Postern in the golang image (downloads it and the Go
#       modules: needs internet);
#
#   CGO_ENABLED=1 go build -trimpath -tags osusergo,netgo,sqlite_omit_load_extension \
#       -ldflags '-s -w -linkmode external -extldflags -static' -o dist/postern ./cmd/postern
#   docker build --target host -t postern .
#       takes the static binary built on this machine (gcc and Go needed, no
#       download at all).
#
# The "host" stage comes before the compiling ones: Docker's classic builder
# (without BuildKit) builds every stage up to the target, and must not try
# to fetch the golang image for it.

# The runtime, without the binary.
FROM scratch AS runtime
COPY contrib/docker/rootfs/ /
COPY contrib/docker/config.toml /etc/postern/config.toml
# The volume's mount point, owned by the server's user: a new named volume
# takes the ownership (and this README) from the image.
COPY --chown=10001:10001 contrib/docker/data/ /var/lib/postern/
ENV POSTERN_CONFIG=/etc/postern/config.toml \
    TMPDIR=/var/lib/postern
WORKDIR /var/lib/postern
VOLUME ["/var/lib/postern"]
# SMTP, submission (STARTTLS, TLS), IMAP (STARTTLS, TLS), POP3 (STLS, TLS), HTTP, HTTPS
EXPOSE 25 587 465 143 993 110 995 80 443
USER 10001:10001
# No shell or curl in the image: the binary asks its own /healthz.
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/postern", "health"]
ENTRYPOINT ["/usr/local/bin/postern"]
CMD ["serve"]

# From a binary built on the host, as dist/postern.
FROM runtime AS host
COPY dist/postern /usr/local/bin/postern

# Compiled here. Debian's glibc links statically; the pure-Go resolver and
# user lookup (netgo, osusergo) need no NSS at run time.
FROM golang:1.26-bookworm AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -tags osusergo,netgo,sqlite_omit_load_extension \
    -ldflags "-s -w -linkmode external -extldflags -static -X main.version=${VERSION}" \
    -o /out/postern ./cmd/postern

FROM runtime AS source
COPY --from=build /out/postern /usr/local/bin/postern
