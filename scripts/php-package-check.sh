#!/usr/bin/env bash
# Installs the apayun/mock PHP package (clients/php) the way a project
# without Packagist would, and runs its suite against a binary:
#
#   scripts/php-package-check.sh PATH_TO_APAYUN_MOCK_BINARY [PHPUNIT ARGS…]
#
# A scratch project requires apayun/mock from a path repository, with
# Packagist disabled and composer's network off, so the install cannot
# reach the network; Debian's phpunit then runs the installed copy's tests
# with the scratch project's autoloader.
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
trap 'rm -rf "$scratch"' EXIT
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

APAYUN_AUTOLOAD="$scratch/vendor/autoload.php" APAYUN_MOCK_BIN="$bin" APAYUN_README="$root/README.md" \
    phpunit -c "$scratch/vendor/apayun/mock/phpunit.xml.dist" "$@"
