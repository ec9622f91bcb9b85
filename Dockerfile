# syntax=docker/dockerfile:1
# Multi-stage build of the `ferrum` server: a full Rust toolchain to build, a distroless
# runtime (glibc, CA certificates, no shell) to run, as a non-root user.
# Build: docker build -t ferrum .   Run: docker run -p 8080:8080 -v ferrum-data:/var/lib/ferrum ferrum

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The same build the README and CI use; --locked keeps the image on Cargo.lock's versions.
RUN cargo build --release --locked -p ferrum-server \
 && strip --strip-debug target/release/ferrum \
 && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/ferrum /usr/local/bin/ferrum
COPY --from=build --chown=65532:65532 /out/data /var/lib/ferrum
USER 65532:65532
WORKDIR /var/lib/ferrum
ENV FERRUM_DATABASE_URL=sqlite:///var/lib/ferrum/ferrum.db \
    FERRUM_HTTP_API_PORT=8080 \
    FERRUM_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/var/lib/ferrum"]
# No curl or wget in the image: the binary checks its own readiness.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["ferrum", "healthcheck"]
ENTRYPOINT ["ferrum"]
CMD ["serve"]
