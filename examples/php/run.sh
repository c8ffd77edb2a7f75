#!/usr/bin/env bash
# Runs the PHP demo against a fresh apayun-mock on a free port.
#
#   examples/php/run.sh PATH_TO_APAYUN_MOCK_BINARY
#
# Needs only `php` (php-cli) on PATH; installs nothing. Exits with the demo's status.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 PATH_TO_APAYUN_MOCK_BINARY" >&2
    exit 2
fi
bin=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is not an executable (build it with: cargo build --release)" >&2
    exit 2
fi
if ! command -v php >/dev/null 2>&1; then
    echo "run.sh: php not found on PATH (install php-cli, e.g. apt-get install -y php-cli)" >&2
    exit 2
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --port 0 >"$work/stdout" 2>"$work/stderr" </dev/null &
server_pid=$!

# The first stdout line is `listening on http://127.0.0.1:PORT`; wait for it, at most ~20 s.
url=
for _ in $(seq 1 200); do
    line=$(head -n 1 "$work/stdout" 2>/dev/null || true)
    case $line in
        "listening on "http*) url=${line#listening on }; break ;;
    esac
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "run.sh: apayun-mock exited before listening; its stderr:" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$url" ]; then
    echo "run.sh: apayun-mock did not print its URL within 20 s; stdout/stderr so far:" >&2
    cat "$work/stdout" "$work/stderr" >&2
    exit 1
fi

status=0
php "$here/demo.php" "$url" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- apayun-mock log (last 20 lines) ---" >&2
    tail -n 20 "$work/stderr" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
fi
exit "$status"
