# syntax=docker/dockerfile:1
# Multi-stage build of the scheduler server (and the example HTTP executor).
#   docker build -t scheduler .                          # the server
#   docker build --target executor -t scheduler-executor .
# The dashboard is embedded from the committed scheduler-server/dashboard/:
# no Node.js needed.

FROM rust:1.95-bookworm AS build
WORKDIR /src

# Dependencies first, in a layer of their own: the manifests and the lock
# file with stub sources (an empty file at every target path a manifest
# names), built once. The layer is rebuilt only when a manifest or
# Cargo.lock changes, not on every source change.
COPY Cargo.toml Cargo.lock ./
COPY scheduler-core/Cargo.toml scheduler-core/
COPY scheduler-mysql/Cargo.toml scheduler-mysql/
COPY scheduler-server/Cargo.toml scheduler-server/
COPY examples/Cargo.toml examples/
COPY benches/Cargo.toml benches/
RUN set -eu; \
    for crate in scheduler-core scheduler-mysql scheduler-server examples benches; do \
      mkdir -p "$crate/src"; \
      touch "$crate/src/lib.rs"; \
      for target in $(grep -o 'path = "[^"]*\.rs"' "$crate/Cargo.toml" | cut -d'"' -f2); do \
        mkdir -p "$crate/$(dirname "$target")"; \
        echo 'fn main() {}' > "$crate/$target"; \
      done; \
    done; \
    echo 'fn main() {}' > scheduler-server/src/main.rs; \
    cargo build --release --locked -p scheduler-server \
 && cargo build --release --locked -p scheduler-examples --example http_executor

# The sources. Their files may be older than the stubs built above, and cargo
# decides what to rebuild by modification time: touch them so the
# workspace's crates are rebuilt (the dependencies are not).
COPY . .
RUN find scheduler-core scheduler-mysql scheduler-server examples benches -name '*.rs' -exec touch {} + \
 && cargo build --release --locked -p scheduler-server \
 && cargo build --release --locked -p scheduler-examples --example http_executor \
 && cp target/release/scheduler-server target/release/examples/http_executor /usr/local/bin/

FROM debian:bookworm-slim AS runtime-base
# ca-certificates: HTTPS to executors and webhooks. No curl: the health check
# is the server's own `healthcheck` subcommand.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 scheduler \
 && useradd --system --uid 10001 --gid 10001 --no-create-home scheduler
# Numeric, so a runtime that checks "not root" (Kubernetes runAsNonRoot) can
# tell without reading /etc/passwd.
USER 10001:10001

FROM runtime-base AS executor
COPY --from=build /usr/local/bin/http_executor /usr/local/bin/http_executor
ENV EXECUTOR_HOST=0.0.0.0
EXPOSE 9200
ENTRYPOINT ["http_executor"]

FROM runtime-base AS server
COPY --from=build /usr/local/bin/scheduler-server /usr/local/bin/scheduler-server
# Listen on every interface inside the container. The server refuses to
# start on such an address without auth.jwt_secret (SCHEDULER_AUTH__JWT_SECRET,
# at least 32 bytes), unless api.allow_unauthenticated is true.
ENV SCHEDULER_API__HOST=0.0.0.0
EXPOSE 8080
# GET /healthz on the port the configuration gives (the same file, variables
# and flags as `serve`; the wildcard host is checked on 127.0.0.1). Exit 0
# healthy, 1 unhealthy.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["scheduler-server", "healthcheck", "--timeout", "2s"]
ENTRYPOINT ["scheduler-server"]
