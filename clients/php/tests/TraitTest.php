<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMock;
use Apayun\Mock\PHPUnit\SharedServer;
use PHPUnit\Framework\AssertionFailedError;

/**
 * UsesApayunMock: a namespace per test forked from the class's snapshot,
 * deleted after; the assertions and their failure messages.
 */
final class TraitTest extends MockTestCase
{
    /** @var list<string> the namespaces earlier tests of this class ran in */
    private static array $seen = [];

    private static ?string $fixtureGuid = null;

    protected static function apayunSnapshot(): string
    {
        return 'one-instance';
    }

    /** The fixture: one provisioned instance, built once and snapshotted. */
    protected static function apayunFixture(ApayunMock $mock): void
    {
        $answer = $mock->client()->call('create', self::createParams());
        self::$fixtureGuid = $answer->data[0]['guid'];
        $mock->advance(30);
    }

    public function testEachTestHasItsOwnNamespaceForkedFromTheSnapshot(): void
    {
        $this->assertNotSame('default', $this->apayun->namespaceName());
        $this->assertStringStartsWith('t' . SharedServer::token() . '-TraitTest-', $this->apayun->namespaceName());
        $this->assertStringContainsString('/ns/' . $this->apayun->namespaceName() . '/api', $this->api->url());
        $this->assertInstanceState((string) self::$fixtureGuid, ['order_status' => '1', 'run_status' => '1']);
        $this->assertSame([], $this->apayun->journal(), 'a fork starts with an empty journal');
        // Changes here stay here.
        $this->assertOk($this->api->call('stop', ['guid' => self::$fixtureGuid]));
        self::$seen[] = $this->apayun->namespaceName();
    }

    public function testTheNextTestStartsFromTheSnapshotAgainAndTheLastNamespaceIsGone(): void
    {
        $this->assertCount(1, self::$seen, 'runs after the test above');
        $this->assertNotContains($this->apayun->namespaceName(), self::$seen);
        $this->assertInstanceState((string) self::$fixtureGuid, ['act_status' => '0', 'run_status' => '1']);
        $alive = array_column(SharedServer::get()->namespaces()['namespaces'], 'name');
        $this->assertNotContains(self::$seen[0], $alive, 'deleted after its test');
        $this->assertContains($this->apayun->namespaceName(), $alive);
    }

    public function testTokenKeepsParallelProcessesApart(): void
    {
        $before = getenv('TEST_TOKEN');
        putenv('TEST_TOKEN=7');
        try {
            $this->assertSame('7', SharedServer::token());
        } finally {
            putenv($before === false ? 'TEST_TOKEN' : "TEST_TOKEN=$before");
        }
        $this->assertNotSame('', SharedServer::token());
    }

    public function testAssertApiCalledQuotesTheJournalWhenItFails(): void
    {
        $this->api->call('sync_baremetal', ['guid' => self::$fixtureGuid]);
        $this->assertApiCalled('sync_baremetal', ['guid' => self::$fixtureGuid], 1);
        $failure = $this->failureOf(fn () => $this->assertApiCalled('create', ['agent_order_no' => 'nope']));
        $this->assertStringContainsString('expected at least 1 call(s) of create with {"agent_order_no":"nope"}, found 0', $failure);
        $this->assertStringContainsString('journal (newest first, 1 entries)', $failure);
        $this->assertMatchesRegularExpression('/#\d+ .* sync_baremetal userid=1 guid=' . self::$fixtureGuid . ' code=0/', $failure);
        $failure = $this->failureOf(fn () => $this->assertApiNotCalled('sync_baremetal'));
        $this->assertStringContainsString('expected no call of sync_baremetal', $failure);
        $this->assertStringContainsString('sync_baremetal userid=1', $failure);
        $failure = $this->failureOf(fn () => $this->assertApiCalled('sync_baremetal', [], 2));
        $this->assertStringContainsString('expected 2 call(s)', $failure);
    }

    public function testAssertInstanceStateQuotesTheInstancesJournal(): void
    {
        $this->api->call('stop', ['guid' => self::$fixtureGuid]);
        $this->assertInstanceState((string) self::$fixtureGuid, ['act_status' => '6']);
        $failure = $this->failureOf(fn () => $this->assertInstanceState((string) self::$fixtureGuid, ['run_status' => -1]));
        $this->assertStringContainsString('"run_status":{"expected":"-1","actual":"1"}', $failure);
        $this->assertStringContainsString(' stop userid=1 guid=' . self::$fixtureGuid, $failure);
    }

    public function testCallbackAssertionsFailWithWhatTheLogHolds(): void
    {
        $failure = $this->failureOf(fn () => $this->assertCallbackDelivered('stopped', null, 0.1));
        $this->assertStringContainsString('no delivered stopped callback within 0.1 s; the callback log: []', $failure);
        $failure = $this->failureOf(fn () => $this->assertCallbacksInOrder(['provisioned']));
        $this->assertStringContainsString('expected callbacks ["provisioned"] in this order, got []', $failure);
        $failure = $this->failureOf(fn () => $this->assertCallbacksSigned());
        $this->assertStringContainsString('no callbacks to check', $failure);
    }

    private function failureOf(callable $assertion): string
    {
        try {
            $assertion();
        } catch (AssertionFailedError $e) {
            return $e->getMessage();
        }
        $this->fail('the assertion passed');
    }
}
