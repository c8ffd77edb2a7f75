#!/usr/bin/env bash
# The container smoke test (CI runs it after scripts/build-image.sh): the
# image as a user runs it, reached only through a port published on
# 127.0.0.1, configured by environment variables only.
#
#   scripts/container-smoke.sh [IMAGE]      # default apayun-mock:local
#
# Checks: healthy within 1 s of `run`; a signed getzones; POST /_mock/reset
# from outside; a --db file on a mounted volume keeps its instances across a
# restart; the image's own health check reports healthy; SIGTERM stops it
# within 1 s with exit code 0; the process is not root. Then prints the
# figures docs/performance.md quotes (sizes, start-up, idle RSS).
#
# ENGINE=podman|docker picks the engine (podman first). BIN is the host-side
# binary that signs the calls (default: the one the image was built from).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:-apayun-mock:local}
bin=${BIN:-target/image/apayun-mock}
engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then engine=podman; else engine=docker; fi
fi
[ -x "$bin" ] || { echo "container-smoke.sh: no binary at $bin (run scripts/build-image.sh)" >&2; exit 1; }

name="apayun-mock-smoke-$$"
volume=$(mktemp -d)
cleanup() {
  "$engine" rm -f -t 0 "$name" >/dev/null 2>&1 || "$engine" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$volume"
}
trap cleanup EXIT

# The engine, minus podman's complaint that it cannot set up health check
# timers where systemd is not running (`podman healthcheck run` still works).
ctr() { "$engine" "$@" 2> >(grep -v 'systemd connection' >&2); }
fail() { echo "FAIL: $*" >&2; "$engine" logs "$name" 2>&1 | tail -20 >&2 || true; exit 1; }
pass() { echo "ok   $*"; }
now_ms() { date +%s%3N; }

# The image runs as uid 65534: the mounted folder must be writable by it.
if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$volume"; else chmod 777 "$volume"; fi

port=""
url=""
# The published port (it may change when the container restarts).
find_url() {
  port=$(ctr port "$name" 8080/tcp | head -1 | sed 's/.*://')
  url="http://127.0.0.1:$port"
}
# Waits until $url answers health (bounded: 10 s); prints the milliseconds
# since $1.
wait_healthy() {
  local since=$1
  for _ in $(seq 1 1000); do
    if "$bin" health --url "$url" >/dev/null 2>&1; then
      echo $(($(now_ms) - since))
      return 0
    fi
    [ $(($(now_ms) - since)) -lt 10000 ] || break
    sleep 0.01
  done
  fail "not healthy 10 s after start: $("$bin" health --url "$url" 2>&1)"
}

# The container's main process as the host sees it.
host_pid() { ctr inspect --format '{{.State.Pid}}' "$name"; }

echo "== $engine run $image"
t0=$(now_ms)
ctr run -d --name "$name" -p 127.0.0.1::8080 -v "$volume:/data" \
  -e APAYUN_MOCK_DB=/data/state.db -e APAYUN_MOCK_TIMINGS=fast -e APAYUN_MOCK_RNG_SEED=11 \
  "$image" >/dev/null
t_run=$(now_ms)
find_url
healthy_ms=$(wait_healthy "$t_run")
run_ms=$((t_run - t0))
[ "$healthy_ms" -le 1000 ] || fail "healthy $healthy_ms ms after '$engine run' (want <= 1000)"
pass "healthy $healthy_ms ms after '$engine run' returned (which took $run_ms ms) at $url"

ids=$(awk '/^(Uid|Gid):/ {printf "%s %s %s %s ", $2, $3, $4, $5}' "/proc/$(host_pid)/status")
case " $ids " in *" 0 "*) fail "the process runs as root (uids and gids: $ids)" ;; esac
pass "the process is not root (uids and gids: ${ids% })"

out=$("$bin" call getzones --url "$url") || fail "signed getzones: $out"
grep -q '"message": "success"' <<<"$out" || fail "getzones answered: $out"
pass "a signed getzones succeeds"

out=$(curl -fsS -X POST "$url/_mock/reset") || fail "POST /_mock/reset from outside: $out"
grep -q '"status":"reset"' <<<"$out" || fail "reset answered: $out"
pass "POST /_mock/reset succeeds from outside the container"

out=$("$bin" call create lineGuid=1665907446560259 productGuid=1665907642748705 \
  systemGuid=1633652801461868 loginName=root loginPassword=QWE1MzUwMjkyNzkh months=1 num=1 \
  system_partition_size=-1 agent_order_no=smoke-1 clientOrderNo=1 clientUserId=1 --url "$url") ||
  fail "create: $out"
guid=$(grep -o '"guid": "[0-9]*"' <<<"$out" | head -1 | grep -o '[0-9]\{6,\}') || fail "no guid in: $out"
[ -s "$volume/state.db" ] || fail "no state.db in the mounted folder"
owner=$(stat -c %u "$volume/state.db")
[ "$owner" = 65534 ] || fail "state.db belongs to uid $owner"
ctr restart -t 5 "$name" >/dev/null
find_url
wait_healthy "$(now_ms)" >/dev/null
out=$("$bin" call sync_baremetal "guid=$guid" --url "$url") || fail "after restart, sync_baremetal $guid: $out"
grep -q "\"guid\": \"$guid\"" <<<"$out" || fail "after restart: $out"
pass "instance $guid survives a restart in --db on the mounted folder"

if [ "$engine" = podman ]; then
  # It runs the image's HEALTHCHECK command inside the container.
  ctr healthcheck run "$name" >/dev/null || fail "podman healthcheck run: exit $?"
  status=$(ctr inspect --format '{{.State.Health.Status}}' "$name")
  [ "$status" = healthy ] || fail "after podman healthcheck run: $status"
  pass "podman healthcheck run: $status"
else
  status=""
  for _ in $(seq 1 100); do
    status=$(docker inspect --format '{{.State.Health.Status}}' "$name")
    [ "$status" = healthy ] && break
    sleep 0.1
  done
  [ "$status" = healthy ] || fail "docker health status: $status"
  pass "docker reports the container $status"
fi

sleep 1 # idle, then read the resident set
pid=$(host_pid)
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")

# `stop` sends SIGTERM and would SIGKILL after 10 s; the process must be
# gone within 1 s, with exit code 0 (137 means it was killed).
t_stop=$(now_ms)
ctr stop -t 10 "$name" >/dev/null &
stopper=$!
for _ in $(seq 1 1500); do
  [ -e "/proc/$pid" ] || break
  sleep 0.01
done
exit_ms=$(($(now_ms) - t_stop))
wait "$stopper" || fail "'$engine stop' failed"
stop_ms=$(($(now_ms) - t_stop))
code=$(ctr inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
[ "$exit_ms" -le 1000 ] || fail "the process exited $exit_ms ms after '$engine stop' (want <= 1000)"
pass "'$engine stop': the process exited after $exit_ms ms with code 0 ('$engine stop' returned after $stop_ms ms)"

size=$(ctr image inspect --format '{{.Size}}' "$image")
gz=$(ctr save "$image" 2>/dev/null | gzip -c | wc -c)
[ "$size" -le 15000000 ] || fail "the image is $size bytes (want <= 15 MB)"
pass "the image is $size bytes"
echo "== figures: image $size bytes, '$engine save | gzip -c' $gz bytes," \
  "'$engine run' $run_ms ms then healthy $healthy_ms ms later, idle RSS $rss_kb kB," \
  "exit $exit_ms ms after '$engine stop'"
echo "container smoke test passed"
