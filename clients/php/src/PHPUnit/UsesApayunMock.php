<?php

declare(strict_types=1);

namespace Apayun\Mock\PHPUnit;

use Apayun\Mock\ApayunMock;
use Apayun\Mock\ApayunMockException;
use Apayun\Mock\CallbackReceiver;
use Apayun\Mock\Client;
use Apayun\Mock\Json;
use PHPUnit\Framework\Assert;
use PHPUnit\Framework\Attributes\After;
use PHPUnit\Framework\Attributes\Before;

/**
 * PHPUnit integration: each test gets its own namespace of one shared
 * server, forked from a named snapshot, and a signed client pointed at it;
 * the namespace is deleted after the test.
 *
 *     final class OrderTest extends TestCase
 *     {
 *         use UsesApayunMock;
 *
 *         public function testCreate(): void
 *         {
 *             $answer = $this->api->call('create', [...]);
 *             $this->apayun->advance(30);
 *             $this->assertApiCalled('create', ['agent_order_no' => '1001']);
 *         }
 *     }
 *
 * The snapshot (`apayunSnapshot()`, default `fixture`) is built once per
 * process and class: a fresh namespace, `apayunFixture()` run in it, then
 * snapshotted. Under ParaTest, TEST_TOKEN keeps each process's namespaces
 * apart. The server is APAYUN_MOCK_URL's, or spawned (see SharedServer).
 *
 * The hooks carry both the `@before`/`@after` annotations (PHPUnit 9.6)
 * and the `#[Before]`/`#[After]` attributes (PHPUnit 10 and 11), so a class
 * using the trait keeps its own setUp() and tearDown().
 */
trait UsesApayunMock
{
    /** The test's own namespace. */
    protected ApayunMock $apayun;

    /** A signed `/api` client on it, as apayunMember(). */
    protected Client $api;

    /** @var array<string,string> fixture namespace by class and snapshot, per process */
    private static array $apayunFixtures = [];

    private static int $apayunCounter = 0;

    // ---- what a test class may override -------------------------------------

    /** The server (default: APAYUN_MOCK_URL's, or one spawned with apayunSpawnArgs()). */
    protected static function apayunServer(): ApayunMock
    {
        return SharedServer::get(static::apayunSpawnArgs());
    }

    /** @return list<string> flags for a spawned server */
    protected static function apayunSpawnArgs(): array
    {
        return [];
    }

    /** The snapshot each test's namespace is forked from. */
    protected static function apayunSnapshot(): string
    {
        return 'fixture';
    }

    /** Builds the fixture, once per process, before it is snapshotted. Default: the seed as it is. */
    protected static function apayunFixture(ApayunMock $mock): void
    {
    }

    /** @return array{0:string,1:string} the member `$this->api` signs as: userid and key */
    protected static function apayunMember(): array
    {
        return ['1', 'mock-api-key'];
    }

    /** @return array<string,string> every member's key by userid, to check callback signs */
    protected static function apayunKeys(): array
    {
        [$userid, $key] = static::apayunMember();
        return ['1' => 'mock-api-key', '2' => 'mock-api-key-2', $userid => $key];
    }

    // ---- the hooks ----------------------------------------------------------

    /** @before */
    #[Before]
    public function apayunSetUp(): void
    {
        $server = static::apayunServer();
        $snapshot = static::apayunSnapshot();
        $fixture = self::apayunFixtureNamespace($server, $snapshot);
        $short = substr((string) preg_replace('/[^A-Za-z0-9]/', '', (string) strrchr('\\' . static::class, '\\')), 0, 24);
        $name = sprintf('t%s-%s-%d-%s', SharedServer::token(), $short, ++self::$apayunCounter, bin2hex(random_bytes(3)));
        $this->apayun = $server->createNamespace(substr($name, 0, 64), $fixture, $snapshot);
        [$userid, $key] = static::apayunMember();
        $this->api = $this->apayun->client($userid, $key);
    }

    /** @after */
    #[After]
    public function apayunTearDown(): void
    {
        if (!isset($this->apayun)) {
            return;
        }
        try {
            $this->apayun->deleteNamespace();
        } catch (ApayunMockException $e) {
            // Already gone (the test deleted it): nothing to clean up.
            if ($e->reason() !== 'unknown_namespace') {
                throw $e;
            }
        }
    }

    private static function apayunFixtureNamespace(ApayunMock $server, string $snapshot): string
    {
        $key = static::class . '|' . $snapshot;
        if (isset(self::$apayunFixtures[$key])) {
            return self::$apayunFixtures[$key];
        }
        $name = sprintf('fx%s-%s', SharedServer::token(), substr(md5($key), 0, 10));
        try {
            $server->deleteNamespace($name);
        } catch (ApayunMockException) {
            // Not left over from an earlier run: fine.
        }
        $fixture = $server->putNamespace($name);
        static::apayunFixture($fixture);
        $fixture->snapshot($snapshot);
        register_shutdown_function(static function () use ($fixture): void {
            try {
                $fixture->deleteNamespace();
            } catch (ApayunMockException) {
                // The server may be gone first at shutdown.
            }
        });
        return self::$apayunFixtures[$key] = $name;
    }

    // ---- assertions ---------------------------------------------------------

    /**
     * Asserts the journal holds a call of `$action` whose params contain
     * `$params` (values compared as text, nested arrays as subsets);
     * `$times` asks for exactly that many. Returns the matching entries.
     *
     * @param array<string,mixed> $params
     * @return list<array<string,mixed>>
     */
    public function assertApiCalled(string $action, array $params = [], ?int $times = null, string $message = ''): array
    {
        $entries = $this->apayun->journal(['action' => $action]);
        $matching = array_values(array_filter($entries, static fn (array $e): bool => self::apayunSubset($params, $e['params'] ?? [])));
        $ok = $times === null ? $matching !== [] : count($matching) === $times;
        Assert::assertTrue($ok, self::apayunMessage($message, sprintf('expected %s call(s) of %s with %s, found %d',
            $times ?? 'at least 1', $action, Json::show((object) $params), count($matching)), $this->apayun->journal(['limit' => 20])));
        return $matching;
    }

    /** @param array<string,mixed> $params */
    public function assertApiNotCalled(string $action, array $params = [], string $message = ''): void
    {
        $entries = $this->apayun->journal(['action' => $action]);
        $matching = array_values(array_filter($entries, static fn (array $e): bool => self::apayunSubset($params, $e['params'] ?? [])));
        Assert::assertTrue($matching === [], self::apayunMessage($message, sprintf('expected no call of %s with %s, found %d',
            $action, Json::show((object) $params), count($matching)), $matching));
    }

    /**
     * Asserts a callback with this event (for this instance) was
     * delivered, waiting up to `$timeout` seconds for delivery, which runs
     * in the server's background. Returns its log record.
     *
     * @return array<string,mixed>
     */
    public function assertCallbackDelivered(string $event, ?string $guid = null, float $timeout = 5.0, string $message = ''): array
    {
        $deadline = microtime(true) + $timeout;
        do {
            $log = $this->apayun->callbacks();
            foreach ($log as $record) {
                if (($record['event'] ?? null) === $event && ($guid === null || ($record['params']['guid'] ?? null) === $guid) && ($record['delivered'] ?? false) === true) {
                    Assert::assertTrue(true);
                    return $record;
                }
            }
            // Delivery is real network I/O in the server's background.
            usleep(20_000);
        } while (microtime(true) < $deadline);
        Assert::fail(self::apayunMessage($message, sprintf('no delivered %s callback%s within %.1f s; the callback log: %s',
            $event, $guid === null ? '' : " for $guid", $timeout, Json::show($log)), $this->apayun->journal(['limit' => 20])));
    }

    /**
     * Asserts the callbacks (of this instance) carry these events in this
     * order; others may come between them.
     *
     * @param list<string> $events
     */
    public function assertCallbacksInOrder(array $events, ?string $guid = null, string $message = ''): void
    {
        $log = array_values(array_filter($this->apayun->callbacks(), static fn (array $r): bool => $guid === null || ($r['params']['guid'] ?? null) === $guid));
        $seen = array_map(static fn (array $r): string => (string) ($r['event'] ?? ''), $log);
        $at = 0;
        foreach ($seen as $event) {
            if ($at < count($events) && $event === $events[$at]) {
                $at++;
            }
        }
        Assert::assertTrue($at === count($events), self::apayunMessage($message, sprintf('expected callbacks %s in this order%s, got %s',
            Json::show($events), $guid === null ? '' : " for $guid", Json::show($seen)), $this->apayun->journal(['limit' => 20])));
    }

    /**
     * Asserts every callback in the log (or every one a receiver got) is
     * signed with its member's key (apayunKeys()).
     */
    public function assertCallbacksSigned(?CallbackReceiver $receiver = null, string $message = ''): void
    {
        $keys = static::apayunKeys();
        $notices = $receiver === null
            ? array_map(static fn (array $r): array => $r['params'] ?? [], $this->apayun->callbacks())
            : $receiver->received();
        $bad = array_values(array_filter($notices, static fn (array $n): bool => !CallbackReceiver::signed($n, $keys[$n['userid'] ?? ''] ?? '')));
        Assert::assertTrue($notices !== [] && $bad === [], self::apayunMessage($message,
            $notices === [] ? 'no callbacks to check' : sprintf('%d of %d callbacks are not signed with their member\'s key: %s', count($bad), count($notices), Json::show($bad)),
            $this->apayun->journal(['limit' => 20])));
    }

    /**
     * Asserts an instance's state fields (`order_status`, `run_status`,
     * `act_status`, `lock_status`, `end_time`, …; values compared as text).
     *
     * @param array<string,string|int> $expected
     */
    public function assertInstanceState(string $guid, array $expected, string $message = ''): void
    {
        $view = $this->apayun->instance($guid);
        $actual = ($view['baremetal'] ?? []) + ($view['instance'] ?? []);
        $diff = [];
        foreach ($expected as $field => $want) {
            $got = $actual[$field] ?? null;
            if ($got === null || (string) $got !== (string) $want) {
                $diff[$field] = ['expected' => (string) $want, 'actual' => $got];
            }
        }
        Assert::assertTrue($diff === [], self::apayunMessage($message, sprintf('instance %s: %s', $guid, Json::show($diff)),
            $this->apayun->journal(['guid' => $guid, 'limit' => 20])));
    }

    /** Whether `$want` is contained in `$have`: scalars as text, arrays key by key. */
    private static function apayunSubset(mixed $want, mixed $have): bool
    {
        if (!is_array($want)) {
            return !is_array($have) && $have !== null && (is_bool($want) ? ($want ? '1' : '0') : (string) $want) === (string) $have;
        }
        if (!is_array($have)) {
            return false;
        }
        foreach ($want as $key => $value) {
            if (!array_key_exists($key, $have) || !self::apayunSubset($value, $have[$key])) {
                return false;
            }
        }
        return true;
    }

    /**
     * A failure message that quotes the journal entries it looked at, one
     * line each.
     *
     * @param list<array<string,mixed>> $entries
     */
    private static function apayunMessage(string $prefix, string $what, array $entries): string
    {
        $lines = array_map(static fn (array $e): string => sprintf('  #%s %s %s userid=%s guid=%s code=%s reason=%s params=%s%s',
            $e['id'] ?? '?', $e['time'] ?? '', $e['action'] ?? '?', $e['userid'] ?? '-', $e['guid'] ?? '-',
            $e['code'] ?? '-', $e['reason'] ?? '-', Json::show($e['params'] ?? []),
            ($e['fault'] ?? null) === null ? '' : ' fault=' . Json::show($e['fault'])), $entries);
        return ($prefix === '' ? '' : "$prefix\n") . $what . "\njournal (newest first, " . count($entries) . " entries):\n"
            . ($lines === [] ? '  (empty)' : implode("\n", $lines));
    }
}
