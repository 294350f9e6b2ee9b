# syntax=docker/dockerfile:1
#
# One image with both binaries, /usr/local/bin/tessera-server and /usr/local/bin/tessera-agent
# (the manifests in k8s/ pick one with `command`). Build from the repository root:
#
#   git archive --format=tar HEAD | docker build -t tessera/tessera:0.1.0 -
#   podman build -t tessera/tessera:0.1.0 .        # from a clean clone (see below)
#
# Build context: the repository's top level is fixed, so there is no .dockerignore. The
# stages below COPY only Cargo.toml, Cargo.lock, proto/, server/, agent/ and tests/ (a
# workspace member), never target/ or .tessera/, but a context that is a working tree is
# still sent whole to the builder: build from `git archive` (as above) or a fresh clone so
# that local build output and test state stay out of the context.

# ---- build -----------------------------------------------------------------------------
# The workspace's rust-version is 1.94; CI's toolchain is 1.95. Debian 12 (bookworm)
# matches the runtime image's glibc.
FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY proto/ proto/
COPY server/ server/
COPY agent/ agent/
COPY tests/ tests/
# No system protoc (protox), no OpenSSL (rustls + aws-lc-rs, built by its cc build script).
# The cache mounts keep the registry and target dir between builds; the binaries are copied
# out of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tessera-server -p tessera-agent \
    && install -D -m 0755 target/release/tessera-server /out/tessera-server \
    && install -D -m 0755 target/release/tessera-agent /out/tessera-agent

# ---- runtime ---------------------------------------------------------------------------
# distroless "cc": glibc, libgcc, ca-certificates (the kube client loads the system roots;
# PostgreSQL TLS uses sqlx's built-in Mozilla roots, or `sslrootcert=` for a private CA),
# /etc/passwd with `nonroot` (65532); no shell, no package manager. Nothing here needs a shell: the manifests use HTTP probes and
# exec the binaries directly.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/tessera-server /out/tessera-agent /usr/local/bin/
# Fixed non-root uid/gid. The agent DaemonSet overrides it with uid 0 without any
# capability (it creates its socket in a root-owned host directory): see k8s/README.md.
USER 65532:65532
# Agent API (gRPC/TLS) of the server; health ([health] bind_address) of either binary.
EXPOSE 8081 8080
ENTRYPOINT ["/usr/local/bin/tessera-server"]
CMD ["--help"]
