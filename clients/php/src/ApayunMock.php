<?php

declare(strict_types=1);

namespace Apayun\Mock;

use DateTimeInterface;

/**
 * A handle on an apayun-mock server, addressing one namespace.
 *
 *     $mock = ApayunMock::attach();               // APAYUN_MOCK_URL
 *     $mock = ApayunMock::spawn(['--timings', 'fast']);   // APAYUN_MOCK_BIN or PATH
 *     $api  = $mock->client('1', 'mock-api-key');
 *     $api->call('getzones');
 *     $mock->advance('1d12h');
 *
 * There is one method per control call (CONTROL_CALLS lists them). A
 * refused control call throws ApayunMockException with the control
 * error's reason. `namespace()`, `fork()` and `createNamespace()` return a
 * handle on another namespace of the same server.
 */
final class ApayunMock
{
    /** The oldest server this package works with: the first to name its version. */
    public const MIN_SERVER_VERSION = '0.1.0';

    /** The header every answer of the server carries. */
    public const VERSION_HEADER = 'X-Apayun-Mock-Version';

    /**
     * Every control call and the method that makes it. A test compares this
     * with the server's OpenAPI document (or the README's control table).
     */
    public const CONTROL_CALLS = [
        'GET /_mock/health' => 'health',
        'POST /_mock/reset' => 'reset',
        'GET /_mock/clock' => 'clock',
        'POST /_mock/clock/advance' => 'advance',
        'POST /_mock/clock/set' => 'setClock',
        'POST /_mock/clock/freeze' => 'freeze',
        'POST /_mock/clock/resume' => 'resume',
        'GET /_mock/timeline' => 'timeline',
        'GET /_mock/callbacks' => 'callbacks',
        'PUT /_mock/users/{userid}/callback' => 'setCallbackUrl',
        'POST /_mock/faults' => 'addFault',
        'GET /_mock/faults' => 'faults',
        'DELETE /_mock/faults' => 'clearFaults',
        'DELETE /_mock/faults/{id}' => 'removeFault',
        'GET /_mock/requests' => 'journal',
        'DELETE /_mock/requests' => 'clearJournal',
        'POST /_mock/snapshots' => 'snapshot',
        'GET /_mock/snapshots' => 'snapshots',
        'POST /_mock/snapshots/{name}/restore' => 'restoreSnapshot',
        'DELETE /_mock/snapshots/{name}' => 'deleteSnapshot',
        'PATCH /_mock/baremetal/{guid}' => 'forceState',
        'GET /_mock/namespaces' => 'namespaces',
        'POST /_mock/namespaces' => 'createNamespace',
        'PUT /_mock/namespaces/{name}' => 'putNamespace',
        'DELETE /_mock/namespaces/{name}' => 'deleteNamespace',
        'GET /_mock/instances' => 'instances',
        'GET /_mock/instances/{guid}' => 'instance',
        'GET /_mock/catalog' => 'catalog',
        'GET /_mock/users' => 'users',
        'POST /_mock/call' => 'callAs',
        'GET /_mock/events' => 'events',
        'GET /_mock/ui' => 'dashboardUrl',
        'GET /_mock/openapi.json' => 'openApi',
    ];

    private ?string $serverVersion = null;

    private function __construct(
        private readonly string $baseUrl,
        private readonly ?string $namespace,
        private readonly ?string $token,
        private readonly ?ServerProcess $process,
        private readonly float $timeout,
    ) {
    }

    /**
     * A running server: `$url`, or `APAYUN_MOCK_URL` (a CI service
     * container). `APAYUN_MOCK_ADMIN_TOKEN` is the default token. The URL
     * may name a namespace (`http://host:8080/ns/suite-a`).
     *
     * @throws ApayunMockException `transport` when nothing answers, `version_too_old`
     */
    public static function attach(?string $url = null, ?string $token = null, string $minVersion = self::MIN_SERVER_VERSION, float $timeout = 30.0): self
    {
        $url ??= self::env('APAYUN_MOCK_URL');
        if ($url === null) {
            throw new ApayunMockException('transport', 'no server URL: pass one to ApayunMock::attach() or set APAYUN_MOCK_URL (e.g. http://127.0.0.1:8080)');
        }
        [$base, $namespace] = self::splitUrl($url);
        $mock = new self($base, $namespace, $token ?? self::env('APAYUN_MOCK_ADMIN_TOKEN'), null, $timeout);
        $mock->checkVersion($minVersion);
        return $mock;
    }

    /**
     * Starts the binary (`$bin`, or `APAYUN_MOCK_BIN`, or `apayun-mock` on
     * PATH) on a free loopback port, waits until it is healthy, and stops
     * it when this process ends (or at `stop()`). `$args` are more `serve`
     * flags: `['--timings', 'fast', '--rng-seed', '7']`.
     *
     * @param list<string> $args
     * @throws ApayunMockException `spawn_failed` with the binary's stderr, `version_too_old`
     */
    public static function spawn(array $args = [], ?string $bin = null, string $minVersion = self::MIN_SERVER_VERSION, float $startTimeout = 20.0): self
    {
        $bin = self::findBinary($bin ?? self::env('APAYUN_MOCK_BIN') ?? 'apayun-mock');
        $process = ServerProcess::start($bin, $args, $startTimeout);
        $mock = new self($process->url, null, null, $process, 30.0);
        try {
            $mock->checkVersion($minVersion);
        } catch (ApayunMockException $e) {
            $process->stop();
            throw $e;
        }
        return $mock;
    }

    /** `attach()` when APAYUN_MOCK_URL is set, else `spawn()`. */
    public static function fromEnvironment(array $spawnArgs = []): self
    {
        return self::env('APAYUN_MOCK_URL') !== null ? self::attach() : self::spawn($spawnArgs);
    }

    private static function env(string $name): ?string
    {
        $value = getenv($name);
        return is_string($value) && $value !== '' ? $value : null;
    }

    private static function findBinary(string $bin): string
    {
        if (str_contains($bin, '/')) {
            if (!is_file($bin) || !is_executable($bin)) {
                throw new ApayunMockException('spawn_failed', "$bin is not an executable file (APAYUN_MOCK_BIN names the apayun-mock binary)");
            }
            return $bin;
        }
        foreach (explode(PATH_SEPARATOR, (string) getenv('PATH')) as $dir) {
            if ($dir !== '' && is_file("$dir/$bin") && is_executable("$dir/$bin")) {
                return "$dir/$bin";
            }
        }
        throw new ApayunMockException('spawn_failed', "no $bin on PATH: set APAYUN_MOCK_BIN to the apayun-mock binary, or attach to a running server with APAYUN_MOCK_URL");
    }

    /** @return array{0:string,1:?string} the server's base URL and the namespace the URL names */
    private static function splitUrl(string $url): array
    {
        $url = rtrim($url, '/');
        if (preg_match('~^(.*)/ns/([^/]+)$~', $url, $m) === 1) {
            return [$m[1], rawurldecode($m[2])];
        }
        return [$url, null];
    }

    private function checkVersion(string $minVersion): void
    {
        $http = Http::request('GET', $this->baseUrl . '/_mock/health', [], null, $this->timeout);
        if ($http['error'] !== null) {
            throw new ApayunMockException('transport', sprintf('no apayun-mock answers at %s: %s', $this->baseUrl, $http['error']));
        }
        $health = Json::tryDecode($http['body']);
        if ($http['status'] !== 200 || !is_array($health) || ($health['status'] ?? null) !== 'ok') {
            throw new ApayunMockException('bad_answer', sprintf('%s/_mock/health answered HTTP %d %s: is this apayun-mock?', $this->baseUrl, $http['status'], $http['body']), $http['status'], $http['body']);
        }
        $version = $http['headers'][strtolower(self::VERSION_HEADER)] ?? (is_string($health['version'] ?? null) ? $health['version'] : null);
        if ($version === null || version_compare($version, $minVersion, '<')) {
            throw new ApayunMockException('version_too_old', sprintf('apayun-mock at %s is version %s; this package needs %s or later',
                $this->baseUrl, $version ?? 'unknown (older than 0.1.0: it sends no version)', $minVersion));
        }
        $this->serverVersion = $version;
    }

    // ---- where this handle points -------------------------------------------

    /** The server's version, as its health answer gave it. */
    public function serverVersion(): string
    {
        return $this->serverVersion ?? $this->health()['version'] ?? '';
    }

    /** The server's base URL (no namespace). */
    public function baseUrl(): string
    {
        return $this->baseUrl;
    }

    /** The namespace this handle addresses (`default` when none). */
    public function namespaceName(): string
    {
        return $this->namespace ?? 'default';
    }

    /** This namespace's `/api` URL. */
    public function apiUrl(): string
    {
        return $this->namespace === null ? "$this->baseUrl/api" : "$this->baseUrl/ns/" . rawurlencode($this->namespace) . '/api';
    }

    /** This namespace's URL: what ApayunMock::attach() and the engine's clients take. */
    public function url(): string
    {
        return $this->namespace === null ? $this->baseUrl : "$this->baseUrl/ns/" . rawurlencode($this->namespace);
    }

    /** The spawned process, or null when attached. */
    public function process(): ?ServerProcess
    {
        return $this->process;
    }

    /** Stops a spawned server (attached: nothing). */
    public function stop(): void
    {
        $this->process?->stop();
    }

    /** A handle on namespace `$name` of the same server (made on first use). */
    public function namespace(string $name): self
    {
        $copy = new self($this->baseUrl, $name === 'default' ? null : $name, $this->token, $this->process, $this->timeout);
        $copy->serverVersion = $this->serverVersion;
        return $copy;
    }

    /** A signed `/api` client for this namespace, as member `$userid` (seed: 1 / mock-api-key). */
    public function client(string|int $userid = '1', string $key = 'mock-api-key'): Client
    {
        return new Client($this->apiUrl(), (string) $userid, $key);
    }

    // ---- control calls ------------------------------------------------------

    /** `GET /_mock/health`: `{"status":"ok","version":…}`. */
    public function health(): array
    {
        return $this->control('GET', '/health');
    }

    /** `POST /_mock/reset`: back to the seed; journal, faults, callbacks emptied; clock back to real time. */
    public function reset(): array
    {
        return $this->control('POST', '/reset', []);
    }

    /** `GET /_mock/clock`: `{"now","offset_seconds","frozen"}`. */
    public function clock(): array
    {
        return $this->control('GET', '/clock');
    }

    /**
     * `POST /_mock/clock/advance`: moves the clock forward and runs every
     * transition that fell due. `$by` is seconds, or a duration: `"1d12h"`,
     * `"90s"`, `"2h30m"`, `"1w"`.
     */
    public function advance(int|string $by): array
    {
        return $this->control('POST', '/clock/advance', ['seconds' => self::seconds($by)]);
    }

    /** `POST /_mock/clock/set`: jumps forward to `$now` (engine time, `YYYY-MM-DD HH:MM:SS`). */
    public function setClock(string|DateTimeInterface $now): array
    {
        $text = $now instanceof DateTimeInterface ? $now->format('Y-m-d H:i:s') : $now;
        return $this->control('POST', '/clock/set', ['now' => $text]);
    }

    /** `POST /_mock/clock/freeze`: the clock stops ticking. */
    public function freeze(): array
    {
        return $this->control('POST', '/clock/freeze', []);
    }

    /** `POST /_mock/clock/resume`: the clock ticks again. */
    public function resume(): array
    {
        return $this->control('POST', '/clock/resume', []);
    }

    /** `GET /_mock/timeline`: the pending transitions (`guid`, `kind`, `due`, `taskid`, `stalled_by`). */
    public function timeline(): array
    {
        return $this->control('GET', '/timeline')['pending'];
    }

    /** `GET /_mock/callbacks`: the callback log, every delivery attempt. */
    public function callbacks(): array
    {
        return $this->control('GET', '/callbacks')['callbacks'];
    }

    /** `PUT /_mock/users/{userid}/callback`: where that member's callbacks go (null: nowhere). */
    public function setCallbackUrl(string|int $userid, ?string $url): array
    {
        return $this->control('PUT', '/users/' . rawurlencode((string) $userid) . '/callback', ['url' => $url]);
    }

    /** `POST /_mock/faults`: adds a rule; answers it with its `id`. */
    public function addFault(Fault|array $fault): array
    {
        return $this->control('POST', '/faults', $fault instanceof Fault ? $fault->toArray() : $fault);
    }

    /** `GET /_mock/faults`: the rules with their `matched` and `fired` counters. */
    public function faults(): array
    {
        return $this->control('GET', '/faults')['faults'];
    }

    /** `DELETE /_mock/faults/{id}`: removes one rule (its stalled transitions run when due). */
    public function removeFault(int|array $fault): array
    {
        $id = is_array($fault) ? (int) $fault['id'] : $fault;
        return $this->control('DELETE', "/faults/$id");
    }

    /** `DELETE /_mock/faults`: removes every rule. */
    public function clearFaults(): array
    {
        return $this->control('DELETE', '/faults');
    }

    /**
     * `GET /_mock/requests`: journal entries, newest first. Filters:
     * `action`, `userid`, `guid`, `code`, `since` (a journal id), `limit`.
     *
     * @param array<string,string|int> $filter
     */
    public function journal(array $filter = []): array
    {
        return $this->journalPage($filter)['requests'];
    }

    /**
     * The whole `GET /_mock/requests` answer: `requests`, `dropped`,
     * `overflowed`. With `['format' => 'jsonl']` the entries come as JSON
     * lines and are read the same way.
     *
     * @param array<string,string|int> $filter
     */
    public function journalPage(array $filter = []): array
    {
        $path = '/requests' . ($filter === [] ? '' : '?' . http_build_query($filter));
        if (($filter['format'] ?? null) === 'jsonl') {
            $text = $this->controlRaw('GET', $path);
            $entries = [];
            foreach (explode("\n", trim($text)) as $line) {
                if ($line !== '') {
                    $entries[] = Json::decode($line);
                }
            }
            return ['requests' => $entries];
        }
        return $this->control('GET', $path);
    }

    /** `DELETE /_mock/requests`: empties the journal. */
    public function clearJournal(): array
    {
        return $this->control('DELETE', '/requests');
    }

    /** `POST /_mock/snapshots`: a named copy of the whole state. */
    public function snapshot(string $name): array
    {
        return $this->control('POST', '/snapshots', ['name' => $name]);
    }

    /** `GET /_mock/snapshots`. */
    public function snapshots(): array
    {
        return $this->control('GET', '/snapshots')['snapshots'];
    }

    /** `POST /_mock/snapshots/{name}/restore`. */
    public function restoreSnapshot(string $name): array
    {
        return $this->control('POST', '/snapshots/' . rawurlencode($name) . '/restore', []);
    }

    /** `DELETE /_mock/snapshots/{name}`. */
    public function deleteSnapshot(string $name): array
    {
        return $this->control('DELETE', '/snapshots/' . rawurlencode($name));
    }

    /**
     * `PATCH /_mock/baremetal/{guid}`: forces `order_status`, `run_status`,
     * `act_status`, `push_status`, `lock_status`, `end_time`; answers the
     * instance (`sync_baremetal`'s single view).
     *
     * @param array<string,string|int> $state
     */
    public function forceState(string $guid, array $state): array
    {
        return $this->control('PATCH', '/baremetal/' . rawurlencode($guid), $state)['baremetal'];
    }

    /** `GET /_mock/namespaces`: `{"namespaces":[…],"max","idle_ttl_seconds"}`. */
    public function namespaces(): array
    {
        return $this->serverControl('GET', '/namespaces');
    }

    /**
     * `POST /_mock/namespaces`: a new namespace — fresh from the seed, a
     * copy of namespace `$from` as it is now, or of its snapshot
     * `$fromSnapshot` (`$from` defaults to `default` then). Without a name
     * the server picks one. Returns a handle on it.
     */
    public function createNamespace(?string $name = null, ?string $from = null, ?string $fromSnapshot = null): self
    {
        $body = array_filter(['name' => $name, 'from' => $from, 'from_snapshot' => $fromSnapshot], static fn ($v) => $v !== null);
        $made = $this->serverControl('POST', '/namespaces', $body);
        return $this->namespace($made['name']);
    }

    /** `PUT /_mock/namespaces/{name}`: as createNamespace(), named in the path. */
    public function putNamespace(string $name, ?string $from = null, ?string $fromSnapshot = null): self
    {
        $body = array_filter(['from' => $from, 'from_snapshot' => $fromSnapshot], static fn ($v) => $v !== null);
        $made = $this->serverControl('PUT', '/namespaces/' . rawurlencode($name), $body);
        return $this->namespace($made['name']);
    }

    /**
     * A copy of this namespace (its snapshot `$snapshot`, or its state now)
     * as a new namespace; returns a handle on the copy.
     */
    public function fork(?string $snapshot = null, ?string $name = null): self
    {
        return $this->createNamespace($name, $this->namespaceName(), $snapshot);
    }

    /** `DELETE /_mock/namespaces/{name}` (this handle's namespace when null). */
    public function deleteNamespace(?string $name = null): array
    {
        $name ??= $this->namespaceName();
        return $this->serverControl('DELETE', '/namespaces/' . rawurlencode($name));
    }

    /**
     * `GET /_mock/instances`: every member's instances, newest first.
     * Filters: `userid`, `order_status`, `run_status`, `act_status`, `limit`, `offset`.
     *
     * @param array<string,string|int> $filter
     */
    public function instances(array $filter = []): array
    {
        return $this->control('GET', '/instances' . ($filter === [] ? '' : '?' . http_build_query($filter)))['instances'];
    }

    /** `GET /_mock/instances/{guid}`: `instance`, `baremetal`, `subnets`, `pending`. */
    public function instance(string $guid): array
    {
        return $this->control('GET', '/instances/' . rawurlencode($guid));
    }

    /** `GET /_mock/catalog`: zones, lines, products (with `stock_free`), OS images. */
    public function catalog(): array
    {
        return $this->control('GET', '/catalog');
    }

    /** `GET /_mock/users`: the members and their callback URLs (never a key). */
    public function users(): array
    {
        return $this->control('GET', '/users')['users'];
    }

    /**
     * `POST /_mock/call`: a signed `/api` call the server makes on the
     * member's behalf with its own copy of the key:
     * `{"status","reason","answer"}`.
     *
     * @param array<string,mixed> $params
     */
    public function callAs(string|int $userid, string $action, array $params = []): array
    {
        return $this->control('POST', '/call', ['userid' => (string) $userid, 'action' => $action, 'params' => (object) $params]);
    }

    /**
     * `GET /_mock/events`: reads the event stream for up to `$seconds`.
     * Once `ready` has arrived, `$during` runs (make the changes to watch
     * there); `$until` (given the events so far) ends the read early.
     *
     * @return list<array{event:string,data:string}>
     */
    public function events(float $seconds = 1.0, ?callable $during = null, ?callable $until = null): array
    {
        $events = [];
        $buffer = '';
        $curl = curl_init($this->controlUrl('/events'));
        $headers = ['Accept: text/event-stream'];
        if ($this->token !== null) {
            $headers[] = "Authorization: Bearer $this->token";
        }
        curl_setopt_array($curl, [
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_PROXY => '',
            CURLOPT_NOPROXY => '*',
            CURLOPT_WRITEFUNCTION => static function ($handle, string $chunk) use (&$buffer, &$events): int {
                $buffer .= str_replace("\r\n", "\n", $chunk);
                while (($end = strpos($buffer, "\n\n")) !== false) {
                    $block = substr($buffer, 0, $end);
                    $buffer = substr($buffer, $end + 2);
                    $event = ['event' => 'message', 'data' => ''];
                    $data = [];
                    foreach (explode("\n", $block) as $line) {
                        if (str_starts_with($line, 'event:')) {
                            $event['event'] = trim(substr($line, 6));
                        } elseif (str_starts_with($line, 'data:')) {
                            $data[] = ltrim(substr($line, 5));
                        }
                    }
                    $event['data'] = implode("\n", $data);
                    if ($block !== '' && !str_starts_with($block, ':')) {
                        $events[] = $event;
                    }
                }
                return strlen($chunk);
            },
        ]);
        $multi = curl_multi_init();
        curl_multi_add_handle($multi, $curl);
        $deadline = microtime(true) + $seconds;
        $ran = $during === null;
        do {
            curl_multi_exec($multi, $running);
            if (!$ran && $events !== []) {
                $ran = true;
                $during();
            }
            if ($until !== null && $until($events)) {
                break;
            }
            curl_multi_select($multi, 0.05);
        } while ($running && microtime(true) < $deadline);
        curl_multi_remove_handle($multi, $curl);
        curl_close($curl);
        curl_multi_close($multi);
        if (!$ran) {
            throw new ApayunMockException('transport', sprintf('%s sent no ready event within %.1f s', $this->controlUrl('/events'), $seconds));
        }
        return $events;
    }

    /** `GET /_mock/ui`: the dashboard's address for this namespace, to print or open. */
    public function dashboardUrl(): string
    {
        return "$this->baseUrl/_mock/ui" . ($this->namespace === null ? '' : '#ns=' . rawurlencode($this->namespace));
    }

    /**
     * `GET /_mock/openapi.json`: the server's OpenAPI 3.1 document of the
     * control API (servers from before it answer `unknown_control_call`).
     */
    public function openApi(): array
    {
        return $this->serverControl('GET', '/openapi.json');
    }

    // ---- plumbing -----------------------------------------------------------

    /**
     * `"1d12h"`, `"90s"`, `"2h30m"`, `"1w"`, `"45"` or 45 → seconds.
     *
     * @throws \InvalidArgumentException for anything else
     */
    public static function seconds(int|string $by): int
    {
        if (is_int($by)) {
            return $by;
        }
        $text = strtolower(str_replace(' ', '', $by));
        if (preg_match('/^\d+$/', $text) === 1) {
            return (int) $text;
        }
        if ($text === '' || preg_match('/^(\d+(w|d|h|m|s))+$/', $text) !== 1) {
            throw new \InvalidArgumentException("not a duration: \"$by\" (write seconds, or e.g. 1d12h, 2h30m, 90s, 1w)");
        }
        preg_match_all('/(\d+)(w|d|h|m|s)/', $text, $parts, PREG_SET_ORDER);
        $unit = ['w' => 604800, 'd' => 86400, 'h' => 3600, 'm' => 60, 's' => 1];
        $total = 0;
        foreach ($parts as [, $n, $u]) {
            $total += (int) $n * $unit[$u];
        }
        return $total;
    }

    private function controlUrl(string $path): string
    {
        return $this->namespace === null
            ? "$this->baseUrl/_mock$path"
            : "$this->baseUrl/ns/" . rawurlencode($this->namespace) . "/_mock$path";
    }

    /** A control call on this namespace. */
    private function control(string $method, string $path, ?array $body = null): array
    {
        return $this->send($method, $this->controlUrl($path), $body);
    }

    /** A control call on the server (namespaces), whatever this handle's namespace. */
    private function serverControl(string $method, string $path, ?array $body = null): array
    {
        return $this->send($method, "$this->baseUrl/_mock$path", $body);
    }

    private function controlRaw(string $method, string $path): string
    {
        $http = $this->exchange($method, $this->controlUrl($path), null);
        return $http['body'];
    }

    private function send(string $method, string $url, ?array $body): array
    {
        $http = $this->exchange($method, $url, $body);
        $value = Json::tryDecode($http['body']);
        if (!is_array($value)) {
            throw new ApayunMockException('bad_answer', sprintf('%s %s answered HTTP %d with no JSON object: %s', $method, $url, $http['status'], $http['body']), $http['status'], $http['body']);
        }
        return $value;
    }

    /** @return array{status:int, headers:array<string,string>, body:string, error:?string} */
    private function exchange(string $method, string $url, ?array $body): array
    {
        $headers = [];
        if ($this->token !== null) {
            $headers['Authorization'] = "Bearer $this->token";
        }
        if ($body !== null) {
            $headers['Content-Type'] = 'application/json';
        }
        $http = Http::request($method, $url, $headers, $body === null ? null : Json::body($body), $this->timeout);
        if ($http['error'] !== null) {
            throw new ApayunMockException('transport', sprintf('%s %s: no answer (%s)', $method, $url, $http['error']));
        }
        if ($http['status'] >= 400) {
            $error = Json::tryDecode($http['body']);
            $reason = is_array($error) && is_string($error['error'] ?? null) ? $error['error'] : 'http_' . $http['status'];
            $message = is_array($error) && is_string($error['message'] ?? null) ? $error['message'] : $http['body'];
            throw new ApayunMockException($reason, sprintf('%s %s: %s (HTTP %d %s)', $method, $url, $message, $http['status'], $reason), $http['status'], $http['body']);
        }
        return $http;
    }
}
