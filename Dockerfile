# syntax=docker/dockerfile:1
# Multi-stage build of `ferrum` (the server) and `ferrum-cli` (the calc client): a full Rust
# toolchain to build, a distroless runtime (glibc, CA certificates, no shell) to run, as a
# non-root user.
# Build: docker build -t ferrum .
# Run:   docker run -p 8080:8080 -v ferrum-data:/var/lib/ferrum ferrum
#        with calc on its own gRPC port too: add -e FERRUM_GRPC_PORT=50051 -p 50051:50051
# CLI:   docker exec <container> ferrum-cli calc np 10   (it calls localhost:8080 by default)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The README's builds, with --locked as CI uses it. One package per command: built together,
# cargo would unify ferrum-calc's features and link the server stack into ferrum-cli.
RUN cargo build --release --locked -p ferrum-server \
 && cargo build --release --locked -p ferrum-cli \
 && strip --strip-debug target/release/ferrum target/release/ferrum-cli \
 && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/ferrum /usr/local/bin/ferrum
COPY --from=build /src/target/release/ferrum-cli /usr/local/bin/ferrum-cli
COPY --from=build --chown=65532:65532 /out/data /var/lib/ferrum
USER 65532:65532
WORKDIR /var/lib/ferrum
ENV FERRUM_DATABASE_URL=sqlite:///var/lib/ferrum/ferrum.db \
    FERRUM_HTTP_API_PORT=8080 \
    FERRUM_LOG_FORMAT=json
# 8080: HTTP and gRPC (calc is served on the HTTP port too). 50051: the optional gRPC-only
# port, listening only when FERRUM_GRPC_PORT=50051 is set (as docker-compose.yml and
# deploy/kubernetes do); it stays unset here because it needs the calc module, and an image
# run with FERRUM_MODULES=patients must still start.
EXPOSE 8080 50051
VOLUME ["/var/lib/ferrum"]
# No curl or wget in the image: the binary checks its own readiness.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["ferrum", "healthcheck"]
ENTRYPOINT ["ferrum"]
CMD ["serve"]
