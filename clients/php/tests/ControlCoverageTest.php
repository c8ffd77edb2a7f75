<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMock;
use Apayun\Mock\Http;
use Apayun\Mock\Json;
use Apayun\Mock\PHPUnit\SharedServer;
use PHPUnit\Framework\TestCase;

/**
 * Every control call has a method: ApayunMock::CONTROL_CALLS against the
 * server's OpenAPI document (`GET /_mock/openapi.json`) when it serves
 * one, else against the README's control table.
 */
final class ControlCoverageTest extends TestCase
{
    /** `PUT /_mock/users/{userid}/callback` → `PUT /_mock/users/{}/callback`. */
    private static function normal(string $route): string
    {
        return (string) preg_replace('/\{[^}]*\}/', '{}', $route);
    }

    /** Which document documented() read: `openapi` or `readme`. */
    private static string $source = '';

    /** @return list<string> the routes the document names, normalised */
    private static function documented(): array
    {
        $http = Http::request('GET', SharedServer::get()->baseUrl() . '/_mock/openapi.json');
        if ($http['status'] === 200 && is_array($doc = Json::tryDecode($http['body'])) && isset($doc['paths'])) {
            self::$source = 'openapi';
            return self::fromOpenApi($doc);
        }
        self::$source = 'readme';
        $readme = getenv('APAYUN_README') ?: __DIR__ . '/../../../README.md';
        if (!is_file($readme)) {
            self::markTestSkipped("no /_mock/openapi.json on this server and no README at $readme (set APAYUN_README)");
        }
        return self::fromReadme((string) file_get_contents($readme));
    }

    /** @return list<string> */
    private static function fromOpenApi(array $doc): array
    {
        $routes = [];
        foreach ($doc['paths'] as $path => $operations) {
            foreach ($operations as $method => $operation) {
                if (in_array($method, ['get', 'post', 'put', 'patch', 'delete'], true)) {
                    $routes[] = strtoupper($method) . ' ' . self::normal((string) $path);
                }
            }
        }
        return $routes;
    }

    /**
     * The first cell of each row of the README's control table:
     * "`POST /_mock/faults`, `GET`, `DELETE /_mock/faults/{id}`" is three
     * routes (a bare method keeps the path, a bare `/resume` the method and
     * the folder). Parenthesised remarks are not routes.
     *
     * @return list<string>
     */
    public static function fromReadme(string $readme): array
    {
        $start = strpos($readme, '| call | what it does |');
        self::assertNotFalse($start, 'the README has a control table');
        $routes = [];
        foreach (array_slice(explode("\n", substr($readme, $start)), 2) as $row) {
            if (!str_starts_with($row, '|')) {
                break;
            }
            $cell = (string) preg_replace('/\([^)]*\)/', '', explode('|', $row)[1]);
            preg_match_all('/`([^`]*)`/', $cell, $m);
            [$method, $path] = [null, null];
            foreach ($m[1] as $token) {
                if (preg_match('~^(GET|POST|PUT|PATCH|DELETE) (/\S*)$~', $token, $r) === 1) {
                    [$method, $path] = [$r[1], strtok($r[2], '?')];
                } elseif (preg_match('~^(GET|POST|PUT|PATCH|DELETE)$~', $token) === 1 && $path !== null) {
                    $method = $token;
                } elseif (str_starts_with($token, '/') && $path !== null) {
                    $path = dirname($path) . $token;
                } else {
                    continue;
                }
                $routes[] = "$method " . self::normal($path);
            }
        }
        return $routes;
    }

    public function testTheReadmeTableIsReadAsRoutes(): void
    {
        $this->assertSame(
            ['POST /_mock/clock/freeze', 'POST /_mock/clock/resume', 'POST /_mock/faults', 'GET /_mock/faults', 'DELETE /_mock/faults', 'DELETE /_mock/faults/{}', 'GET /_mock/ui'],
            self::fromReadme("| call | what it does |\n| --- | --- |\n| `POST /_mock/clock/freeze`, `/resume` | x |\n"
                . "| `POST /_mock/faults`, `GET`, `DELETE /_mock/faults`, `DELETE /_mock/faults/{id}` | rules |\n"
                . "| `GET /_mock/ui` (`GET /` redirects there) | the dashboard |\n\nafter\n"));
    }

    public function testEveryDocumentedControlCallHasAMethodAndEveryMethodACall(): void
    {
        $documented = array_values(array_unique(array_filter(self::documented(), static fn (string $r): bool => str_contains($r, '/_mock'))));
        // The package addresses namespaces by handle: /ns/{}/_mock/… is the same call.
        $documented = array_values(array_unique(array_map(static fn (string $r): string => str_replace('/ns/{}/_mock', '/_mock', $r), $documented)));
        // The dashboard's own files (`/_mock/ui/app.js`, …) are documented
        // but are the page's, not calls a test makes: dashboardUrl() is the page.
        $documented = array_values(array_filter($documented, static fn (string $r): bool => !str_starts_with(explode(' ', $r, 2)[1] ?? '', '/_mock/ui/')));
        $ours = [];
        foreach (ApayunMock::CONTROL_CALLS as $route => $method) {
            $this->assertTrue(method_exists(ApayunMock::class, $method), "$route names a method ApayunMock lacks: $method");
            $ours[] = self::normal($route);
        }
        sort($documented);
        sort($ours);
        $this->assertSame([], array_values(array_diff($documented, $ours)), 'control calls the ' . self::$source . ' document names without a method');
        // openApi() is the one call a server from before the document lacks;
        // an OpenAPI document of the JSON calls may leave out the dashboard page.
        $tolerated = self::$source === 'openapi' ? ['GET /_mock/ui'] : ['GET /_mock/openapi.json'];
        $extra = array_values(array_diff($ours, $documented, $tolerated));
        $this->assertSame([], $extra, 'methods for control calls the ' . self::$source . ' document does not name');
    }
}
