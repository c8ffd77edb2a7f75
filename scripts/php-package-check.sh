#!/usr/bin/env bash
# Installs the apayun/mock PHP package (clients/php) the way a project
# without Packagist would, and runs its suite against a binary:
#
#   scripts/php-package-check.sh PATH_TO_APAYUN_MOCK_BINARY [PHPUNIT ARGS…]
#
# A scratch project requires apayun/mock from a path repository, with
# Packagist disabled and composer's network off, so the install cannot
# reach the network; Debian's phpunit then runs the installed copy's tests
# with the scratch project's autoloader: once spawning the binary, then as
# ParaTest would run it, two processes at once with their own TEST_TOKEN
# against one server (APAYUN_MOCK_URL), which must be left with no
# namespace but `default` afterwards.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 PATH_TO_APAYUN_MOCK_BINARY [PHPUNIT ARGS…]" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
for tool in php composer phpunit; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool not found (apt-get install php-cli php-curl php-xml composer phpunit)" >&2; exit 2; }
done

scratch=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
cat >"$scratch/composer.json" <<JSON
{
    "name": "ci/apayun-mock-scratch",
    "description": "a project that installs apayun/mock from a path repository",
    "license": "MIT",
    "minimum-stability": "dev",
    "repositories": [
        {"packagist.org": false},
        {"type": "path", "url": "$root/clients/php", "options": {"symlink": false}}
    ],
    "require-dev": {"apayun/mock": "*"}
}
JSON
COMPOSER_DISABLE_NETWORK=1 COMPOSER_HOME="$scratch/.composer" \
    composer --working-dir="$scratch" install --no-interaction --no-progress
test -f "$scratch/vendor/apayun/mock/src/ApayunMock.php"

export APAYUN_AUTOLOAD="$scratch/vendor/autoload.php" APAYUN_MOCK_BIN="$bin" APAYUN_README="$root/README.md"
config="$scratch/vendor/apayun/mock/phpunit.xml.dist"
echo "-- the suite, spawning the binary"
phpunit -c "$config" "$@"

echo "-- the suite twice at once against one server (TEST_TOKEN 1 and 2)"
"$bin" serve --port 0 >"$scratch/server.out" 2>"$scratch/server.err" </dev/null &
server_pid=$!
url=
for _ in $(seq 1 200); do
    line=$(head -n 1 "$scratch/server.out" 2>/dev/null || true)
    case $line in "listening on "http*) url=${line#listening on }; break ;; esac
    kill -0 "$server_pid" 2>/dev/null || { cat "$scratch/server.err" >&2; exit 1; }
    sleep 0.05
done
[ -n "$url" ] || { echo "$0: the server printed no URL" >&2; exit 1; }
status=0
APAYUN_MOCK_URL=$url TEST_TOKEN=1 phpunit -c "$config" "$@" >"$scratch/run1.log" 2>&1 & p1=$!
APAYUN_MOCK_URL=$url TEST_TOKEN=2 phpunit -c "$config" "$@" >"$scratch/run2.log" 2>&1 & p2=$!
wait "$p1" || status=1
wait "$p2" || status=1
for n in 1 2; do echo "TEST_TOKEN=$n: $(tail -n 1 "$scratch/run$n.log")"; done
if [ "$status" -ne 0 ]; then
    cat "$scratch/run1.log" "$scratch/run2.log" >&2
    exit 1
fi
left=$(php -r 'require getenv("APAYUN_AUTOLOAD");
    $ns = Apayun\Mock\ApayunMock::attach($argv[1])->namespaces()["namespaces"];
    echo implode(" ", array_column($ns, "name"));' "$url")
if [ "$left" != "default" ]; then
    echo "$0: namespaces left after the suites: $left" >&2
    exit 1
fi
echo "namespaces left: $left"
