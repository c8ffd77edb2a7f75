<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMock;
use Apayun\Mock\ApayunMockException;
use Apayun\Mock\Http;
use Apayun\Mock\PHPUnit\SharedServer;
use PHPUnit\Framework\TestCase;

/** ApayunMock::spawn() and attach(), and the minimum server version. */
final class StartTest extends TestCase
{
    private static function bin(): string
    {
        $bin = getenv('APAYUN_MOCK_BIN');
        if (!is_string($bin) || $bin === '') {
            self::markTestSkipped('APAYUN_MOCK_BIN is not set: spawning needs the binary');
        }
        return $bin;
    }

    public function testSpawnStartsTheBinaryOnAFreePortAndStopsIt(): void
    {
        $mock = ApayunMock::spawn(['--timings', 'fast'], self::bin());
        $this->assertMatchesRegularExpression('~^http://127\.0\.0\.1:\d+$~', $mock->baseUrl());
        $this->assertSame('ok', $mock->health()['status']);
        $this->assertSame($mock->serverVersion(), $mock->health()['version']);
        $this->assertTrue($mock->client()->call('getzones')->ok());
        $mock->stop();
        $this->assertNotNull(Http::request('GET', $mock->baseUrl() . '/_mock/health', [], null, 2.0)['error'], 'the server still answers after stop()');
    }

    public function testSpawnFailsWithTheBinarysStderr(): void
    {
        try {
            ApayunMock::spawn(['--timings', 'sluggish'], self::bin());
            $this->fail('a server with a bad flag started');
        } catch (ApayunMockException $e) {
            $this->assertSame('spawn_failed', $e->reason());
            $this->assertStringContainsString('exited with code 2', $e->getMessage());
            $this->assertStringContainsString('sluggish', $e->getMessage(), 'the message quotes the binary\'s stderr');
        }
    }

    public function testSpawnWithoutABinarySaysWhereToPointIt(): void
    {
        try {
            ApayunMock::spawn([], 'no-such-apayun-mock-binary');
            $this->fail('spawned a binary that does not exist');
        } catch (ApayunMockException $e) {
            $this->assertSame('spawn_failed', $e->reason());
            $this->assertStringContainsString('APAYUN_MOCK_BIN', $e->getMessage());
        }
    }

    public function testAttachUsesARunningServerAndItsNamespaceUrl(): void
    {
        $server = SharedServer::get();
        $mock = ApayunMock::attach($server->baseUrl());
        $this->assertSame('default', $mock->namespaceName());
        $inNs = ApayunMock::attach($server->baseUrl() . '/ns/attach-' . bin2hex(random_bytes(3)));
        $this->assertStringStartsWith('attach-', $inNs->namespaceName());
        $this->assertStringEndsWith('/ns/' . $inNs->namespaceName() . '/api', $inNs->apiUrl());
        $this->assertTrue($inNs->client()->call('getzones')->ok());
        $inNs->deleteNamespace();
    }

    public function testAttachReadsApayunMockUrl(): void
    {
        $server = SharedServer::get();
        $before = getenv('APAYUN_MOCK_URL');
        putenv('APAYUN_MOCK_URL=' . $server->baseUrl());
        try {
            $this->assertSame($server->baseUrl(), ApayunMock::attach()->baseUrl());
            $this->assertSame($server->baseUrl(), ApayunMock::fromEnvironment()->baseUrl());
        } finally {
            putenv($before === false ? 'APAYUN_MOCK_URL' : "APAYUN_MOCK_URL=$before");
        }
    }

    public function testAttachRefusesAServerOlderThanTheMinimum(): void
    {
        try {
            ApayunMock::attach(SharedServer::get()->baseUrl(), null, '99.0.0');
            $this->fail('attached to a server older than the minimum');
        } catch (ApayunMockException $e) {
            $this->assertSame('version_too_old', $e->reason());
            $this->assertStringContainsString('needs 99.0.0 or later', $e->getMessage());
        }
    }

    public function testAttachWhereNothingAnswers(): void
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr((string) strrchr((string) stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);
        try {
            ApayunMock::attach("http://127.0.0.1:$port");
            $this->fail('attached where nothing listens');
        } catch (ApayunMockException $e) {
            $this->assertSame('transport', $e->reason());
            $this->assertStringContainsString("127.0.0.1:$port", $e->getMessage());
        }
    }

    public function testEveryAnswerNamesTheServerVersion(): void
    {
        $server = SharedServer::get();
        $version = $server->health()['version'];
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', $version);
        foreach (['/_mock/clock', '/_mock/no-such-call', '/no/such/path', '/api'] as $path) {
            $http = Http::request('GET', $server->baseUrl() . $path);
            $this->assertSame($version, $http['headers']['x-apayun-mock-version'] ?? null, "GET $path (HTTP {$http['status']})");
        }
        $this->assertSame($version, $server->client()->call('getzones')->header(ApayunMock::VERSION_HEADER));
    }
}
