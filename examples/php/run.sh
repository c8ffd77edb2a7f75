#!/usr/bin/env bash
# Runs the PHP demo against a fresh apayun-mock that the demo spawns
# itself (the apayun/mock package's ApayunMock::spawn()).
#
#   examples/php/run.sh PATH_TO_APAYUN_MOCK_BINARY
#
# Needs `php` with the curl extension (php-cli php-curl); installs nothing.
# Exits with the demo's status.
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
if ! command -v php >/dev/null 2>&1 || ! php -r 'exit(function_exists("curl_init") ? 0 : 1);'; then
    echo "run.sh: php with the curl extension not found (install php-cli php-curl)" >&2
    exit 2
fi

APAYUN_MOCK_BIN=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") exec php "$here/demo.php"
