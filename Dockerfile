# syntax=docker/dockerfile:1
#
# newsflow container images.
#
#   docker build -t newsflow:dev .                     # default target `all`: every binary
#   docker build --target dedup -t newsflow-dedup .    # one binary per image: dedup, extract,
#                                                      # report, feed
#
# Choice: compose and the Kubernetes manifests use the one `all` image and pick the binary
# with the command (`newsflow-dedup run`, `newsflow-report serve`, ...). One image is one
# build, one scan and one tag to roll forward or back, and the four binaries share almost
# all of their code; the per-service targets exist for operators who want the smallest image
# per Deployment and reuse the same cached builder layers.
#
# No database is needed at build time: the services use runtime-checked queries
# (`sqlx::query`, never the `query!` macros), so there is no .sqlx offline data to prepare.
# SQLX_OFFLINE=true is still set so that a `query!` macro added later fails the build loudly
# instead of trying to reach a database. The migrations and the dictionaries in data/ are
# compiled into the binaries (sqlx::migrate!, include_str!), so the runtime image carries no
# files besides the binaries.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------------------------
# chef: the Rust toolchain plus what librdkafka's bundled build needs (rdkafka-sys compiles
# librdkafka with its ./configure + make, linking the system OpenSSL and zlib).
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
# Debian package versions are not pinned: the base image tag fixes the Debian release and its
# security updates are wanted.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential perl pkg-config libssl-dev zlib1g-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /src

# planner: reduces the workspace to a recipe (manifests, lock file, targets) that changes only
# when dependencies change, so the next stage's expensive layer stays cached across code edits.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# builder: dependencies first (cached layer), then the real sources.
FROM chef AS builder
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --workspace --bins --recipe-path recipe.json
COPY . .
# Which binaries the `all` image must contain. Every one listed must exist, so a missing
# service fails here rather than at deploy time.
ARG SERVICES="dedup extract report feed"
RUN cargo build --release --locked --workspace --bins \
 && mkdir -p /out \
 && for s in ${SERVICES}; do \
      install -m 0755 "target/release/newsflow-${s}" /out/ || { echo "missing binary newsflow-${s}" >&2; exit 1; }; \
    done

# ---------------------------------------------------------------------------------------------
# runtime-base: Debian slim with the shared libraries the binaries link (OpenSSL 3, zlib), CA
# certificates for Kafka TLS, and an unprivileged user. No shell tools beyond Debian's
# essentials (bash, coreutils, grep), which the entrypoint and the health probe use.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-base
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 newsflow \
 && useradd --system --uid 10001 --gid newsflow --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin newsflow
COPY deploy/docker/entrypoint.sh /usr/local/bin/newsflow-entrypoint
COPY deploy/docker/probe.sh /usr/local/bin/newsflow-probe
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (tokio workers, the blocking pool,
# librdkafka's threads) an arena of its own, up to 8 per core, and memory freed in one is not
# reused by another; batches allocated on one thread and freed on another made the services'
# RSS creep up over a run. With two arenas a 60,000-article bench drain ran as fast (273 vs
# 278 articles/s) with extract at 142-148 MB instead of 164-176 (BENCHMARKS.md).
ENV NEWSFLOW_LOG_FORMAT=json \
    NEWSFLOW_ADMIN_ADDR=0.0.0.0:9000 \
    MALLOC_ARENA_MAX=2
# Numeric so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/newsflow-entrypoint"]

FROM runtime-base AS dedup
COPY --from=builder /out/newsflow-dedup /usr/local/bin/
CMD ["newsflow-dedup", "run"]

FROM runtime-base AS extract
COPY --from=builder /out/newsflow-extract /usr/local/bin/
CMD ["newsflow-extract", "run"]

FROM runtime-base AS report
COPY --from=builder /out/newsflow-report /usr/local/bin/
EXPOSE 8080
CMD ["newsflow-report", "serve"]

FROM runtime-base AS feed
COPY --from=builder /out/newsflow-feed /usr/local/bin/
CMD ["newsflow-feed", "--help"]

# all (default, last stage): every binary; the command chooses the service.
FROM runtime-base AS all
COPY --from=builder /out/ /usr/local/bin/
EXPOSE 8080
CMD ["newsflow-dedup", "--help"]
