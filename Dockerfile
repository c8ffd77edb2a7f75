# apayun-mock as a fixture server: the static binary (seed compiled in) in an
# empty image, about 9 MB.
#
# Build it with `scripts/build-image.sh [TAG]`: it builds the static binary,
# stages it in target/image/ (this file's build context, with the empty
# data/ and tmp/ folders below) and runs podman or docker. No base image is
# pulled.
FROM scratch

COPY apayun-mock /apayun-mock
# A mount point uid 65534 can write, so a fresh named volume for `--db
# /data/state.db` is writable too (docker and podman copy its owner), and a
# /tmp for SQLite's temporary files (sorts too large for memory).
COPY --chown=65534:65534 data /data
COPY --chown=65534:65534 tmp /tmp

USER 65534:65534
EXPOSE 8080
# Listen on every interface and serve the control API to every client: behind
# a published port no client is loopback. APAYUN_MOCK_ADMIN_TOKEN locks it.
ENV APAYUN_MOCK_BIND=0.0.0.0 \
    APAYUN_MOCK_ADMIN_OPEN=1

# A scratch image has no curl: the binary probes its own /_mock/health.
HEALTHCHECK --interval=2s --timeout=3s --start-period=1s --retries=3 \
    CMD ["/apayun-mock", "health"]

ENTRYPOINT ["/apayun-mock"]
CMD ["serve"]
