# syntax=docker/dockerfile:1
# Multi-stage build of the scheduler server (and the example HTTP executor).
#   docker build -t scheduler .                          # the server
#   docker build --target executor -t scheduler-executor .
# The dashboard is embedded from the committed web/dist: no Node.js needed.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p scheduler-server \
 && cargo build --release --locked -p scheduler-examples --example http_executor \
 && cp target/release/scheduler-server target/release/examples/http_executor /usr/local/bin/

FROM debian:bookworm-slim AS runtime-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home scheduler
USER scheduler

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
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["scheduler-server"]
