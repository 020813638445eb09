# Liaison node image: built from source in a Rust stage, run as a non-root user
# from a slim Debian stage holding only the binary. See docs/OPERATIONS.md,
# "Install as a service" (container).
#
#   docker build -t liaison .
#   docker volume create liaison-data
#   docker run --rm -v liaison-data:/var/lib/liaison liaison \
#       init --name "Agency A (example)" --listen 0.0.0.0:7400 --endpoint 192.0.2.10:7400 --country GB
#   docker run -d --name liaison -v liaison-data:/var/lib/liaison -p 7400:7400 liaison

# --- build --------------------------------------------------------------------
FROM rust:1.89-slim-bookworm AS build
WORKDIR /src
# No system protoc is needed: protox compiles the .proto files in build.rs.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY tests ./tests
# A workspace member (its manifest and sources, not the corpus): cargo loads every member.
COPY fuzz/Cargo.toml ./fuzz/Cargo.toml
COPY fuzz/src ./fuzz/src
COPY fuzz/fuzz_targets ./fuzz/fuzz_targets
COPY proto ./proto
RUN cargo build --release --locked -p liaison --bin liaison \
    && install -D -m 0755 target/release/liaison /out/liaison

# --- run ----------------------------------------------------------------------
FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 liaison \
    && useradd --system --uid 10001 --gid liaison --home-dir /var/lib/liaison \
        --shell /usr/sbin/nologin liaison \
    && install -d -m 0700 -o liaison -g liaison /var/lib/liaison
COPY --from=build /out/liaison /usr/local/bin/liaison
COPY LICENSE /usr/share/doc/liaison/LICENSE
USER 10001:10001
# The volume, writable by that user: `docker exec … identity export --out x.bundle`
# writes /var/lib/liaison/x.bundle, and `docker cp` takes it out (OPERATIONS.md §18).
WORKDIR /var/lib/liaison
ENV LIAISON_DIR=/var/lib/liaison/node \
    LIAISON_LOG_FORMAT=text
VOLUME ["/var/lib/liaison"]
# 7400: partners and clients (mutual TLS). 9464: metrics, only if enabled
# (plain HTTP: publish it to a monitoring network only, never to the internet).
EXPOSE 7400 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/liaison"]
CMD ["run"]
