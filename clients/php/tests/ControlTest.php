<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMock;
use Apayun\Mock\ApayunMockException;
use Apayun\Mock\PHPUnit\SharedServer;
use DateTimeImmutable;
use InvalidArgumentException;

/** One test (or more) per control method, each through a real server. */
final class ControlTest extends MockTestCase
{
    public function testDurationsAreSecondsOrDaysHoursMinutes(): void
    {
        $this->assertSame(129600, ApayunMock::seconds('1d12h'));
        $this->assertSame(9000, ApayunMock::seconds('2h30m'));
        $this->assertSame(90, ApayunMock::seconds('90s'));
        $this->assertSame(604800, ApayunMock::seconds('1w'));
        $this->assertSame(45, ApayunMock::seconds('45'));
        $this->assertSame(45, ApayunMock::seconds(45));
        $this->expectException(InvalidArgumentException::class);
        ApayunMock::seconds('tomorrow');
    }

    public function testClockAdvanceFreezeResumeSet(): void
    {
        $frozen = $this->apayun->freeze();
        $this->assertTrue($frozen['frozen']);
        $start = new DateTimeImmutable($frozen['now']);
        $moved = $this->apayun->advance('1d12h');
        $this->assertSame(129600, (new DateTimeImmutable($moved['now']))->getTimestamp() - $start->getTimestamp());
        $this->assertSame($moved['now'], $this->apayun->advance(0)['now']);
        $this->assertSame(129630, (new DateTimeImmutable($this->apayun->advance(30)['now']))->getTimestamp() - $start->getTimestamp());
        $this->assertSame('2099-01-01 00:00:00', $this->apayun->setClock('2099-01-01 00:00:00')['now']);
        $this->assertSame('2099-01-02 00:00:00', $this->apayun->setClock(new DateTimeImmutable('2099-01-02 00:00:00'))['now']);
        $this->assertSame('2099-01-02 00:00:00', $this->apayun->clock()['now']);
        $this->assertFalse($this->apayun->resume()['frozen']);
        $this->assertFalse($this->apayun->clock()['frozen']);
    }

    public function testAControlRefusalIsOneExceptionWithTheReason(): void
    {
        $this->apayun->setClock('2099-01-01 00:00:00');
        try {
            $this->apayun->setClock('2098-01-01 00:00:00');
            $this->fail('the clock moved backwards');
        } catch (ApayunMockException $e) {
            $this->assertSame('clock_backwards', $e->reason());
            $this->assertSame(409, $e->httpStatus());
            $this->assertStringContainsString('only moves forward', $e->getMessage());
            $this->assertStringContainsString('"error":"clock_backwards"', $e->body());
        }
        foreach ([
            'unknown_snapshot' => fn () => $this->apayun->restoreSnapshot('never-taken'),
            'unknown_fault' => fn () => $this->apayun->removeFault(999),
            'unknown_instance' => fn () => $this->apayun->instance('1000000000000000'),
            'unknown_user' => fn () => $this->apayun->setCallbackUrl('999', null),
            'bad_time' => fn () => $this->apayun->setClock('tomorrow'),
        ] as $reason => $call) {
            try {
                $call();
                $this->fail("$reason: accepted");
            } catch (ApayunMockException $e) {
                $this->assertSame($reason, $e->reason(), $e->getMessage());
            }
        }
    }

    public function testHealth(): void
    {
        $health = $this->apayun->health();
        $this->assertSame('ok', $health['status']);
        $this->assertSame($this->apayun->serverVersion(), $health['version']);
    }

    public function testResetGoesBackToTheSeed(): void
    {
        $guid = $this->createInstance();
        $this->apayun->addFault(\Apayun\Mock\Fault::on('stop')->drop());
        $this->assertNotSame([], $this->apayun->instances(['userid' => '1', 'order_status' => '0']));
        $reset = $this->apayun->reset();
        $this->assertSame('reset', $reset['status']);
        $this->assertSame([], $this->apayun->journal());
        $this->assertSame([], $this->apayun->faults());
        $this->assertSame([], $this->apayun->instances(['order_status' => '0']));
        $this->assertSame(1, $this->api->call('sync_baremetal', ['guid' => $guid])->code);
    }

    public function testTimelineShowsPendingTransitions(): void
    {
        $guid = $this->createInstance();
        $pending = array_values(array_filter($this->apayun->timeline(), static fn (array $t): bool => $t['guid'] === $guid));
        $this->assertSame('provisioned', $pending[0]['kind'] ?? null, json_encode($pending));
        $this->assertNull($pending[0]['stalled_by']);
        $this->apayun->advance(30);
        $this->assertInstanceState($guid, ['order_status' => '1', 'run_status' => '1', 'act_status' => '0']);
        $kinds = array_column(array_filter($this->apayun->timeline(), static fn (array $t): bool => $t['guid'] === $guid), 'kind');
        $this->assertNotContains('provisioned', $kinds);
    }

    public function testJournalAndItsQueries(): void
    {
        $guid = $this->createInstance();
        $this->api->call('sync_baremetal', ['guid' => $guid]);
        $this->api->call('getzones', [], ['sign' => 'bad']);
        $all = $this->apayun->journal();
        $this->assertSame(['getzones', 'sync_baremetal', 'create'], array_column($all, 'action'), 'newest first');
        $this->assertSame('***', $all[2]['params']['loginPassword'], 'secrets are masked');
        $this->assertCount(1, $this->apayun->journal(['action' => 'create']));
        $this->assertCount(2, $this->apayun->journal(['guid' => $guid]), 'guid= finds the create and the sync');
        $this->assertSame(['getzones'], array_column($this->apayun->journal(['code' => 1]), 'action'));
        $this->assertCount(1, $this->apayun->journal(['limit' => 1]));
        $this->assertSame(['getzones', 'sync_baremetal'], array_column($this->apayun->journal(['since' => $all[2]['id']]), 'action'));
        $this->assertCount(3, $this->apayun->journal(['userid' => '1']));
        $page = $this->apayun->journalPage();
        $this->assertSame(0, $page['dropped']);
        $this->assertSame(0, $page['overflowed']);
        $lines = $this->apayun->journalPage(['format' => 'jsonl', 'action' => 'create'])['requests'];
        $this->assertSame($all[2]['id'], $lines[0]['id']);
        $this->apayun->clearJournal();
        $this->assertSame([], $this->apayun->journal());
        $this->assertApiNotCalled('create');
    }

    public function testSnapshotsTakeListRestoreDelete(): void
    {
        $this->apayun->snapshot('before');
        $guid = $this->createInstance();
        $this->assertContains('before', array_column($this->apayun->snapshots(), 'name'));
        $restored = $this->apayun->restoreSnapshot('before');
        $this->assertSame('before', $restored['restored']);
        $this->assertSame(1, $this->api->call('sync_baremetal', ['guid' => $guid])->code, 'the instance made after the snapshot is gone');
        $this->assertSame('before', $this->apayun->deleteSnapshot('before')['deleted']);
        $this->assertNotContains('before', array_column($this->apayun->snapshots(), 'name'));
    }

    public function testForceState(): void
    {
        $guid = $this->activeInstance();
        $view = $this->apayun->forceState($guid, ['run_status' => -1, 'lock_status' => '1']);
        $this->assertSame('-1', $view['run_status']);
        $this->assertInstanceState($guid, ['run_status' => '-1', 'lock_status' => '1']);
        $this->assertSame(1, $this->api->call('start', ['guid' => $guid])->code, 'a locked instance cannot start');
        $this->apayun->forceState($guid, ['end_time' => '2099-12-31 00:00:00']);
        $this->assertInstanceState($guid, ['end_time' => '2099-12-31 00:00:00']);
        try {
            $this->apayun->forceState($guid, ['colour' => 'red']);
            $this->fail('forced an unknown field');
        } catch (ApayunMockException $e) {
            $this->assertSame('unknown_field', $e->reason());
        }
    }

    public function testInstancesCatalogUsers(): void
    {
        $guid = $this->createInstance();
        $listed = $this->apayun->instances(['userid' => '1', 'limit' => 5]);
        $this->assertSame($guid, $listed[0]['guid'], 'newest first');
        $this->assertSame('0', $listed[0]['order_status']);
        $one = $this->apayun->instance($guid);
        $this->assertSame($guid, $one['instance']['guid']);
        $this->assertSame($guid, $one['baremetal']['guid']);
        $this->assertSame('provisioned', $one['pending'][0]['kind']);
        $this->assertArrayHasKey('subnets', $one);
        $catalog = $this->apayun->catalog();
        foreach (['zones', 'lines', 'products', 'systems'] as $part) {
            $this->assertNotEmpty($catalog[$part], $part);
        }
        $users = array_column($this->apayun->users(), 'userid');
        $this->assertContains('1', $users);
        $this->assertContains('2', $users);
    }

    public function testCallAsSignsWithTheMembersKey(): void
    {
        $made = $this->apayun->callAs('2', 'getzones');
        $this->assertSame(200, $made['status']);
        $this->assertNull($made['reason']);
        $this->assertSame(0, $made['answer']['code']);
        $this->assertApiCalled('getzones', ['userid' => '2'], 1);
        $this->assertSame(1, $this->apayun->callAs('1', 'sync_baremetal', ['guid' => '1000000000000000'])['answer']['code']);
    }

    public function testSetCallbackUrl(): void
    {
        $set = $this->apayun->setCallbackUrl('2', 'http://127.0.0.1:9/hook');
        $this->assertSame('http://127.0.0.1:9/hook', $set['url']);
        $byUser = array_column($this->apayun->users(), 'callback_url', 'userid');
        $this->assertSame('http://127.0.0.1:9/hook', $byUser[2]);
        $this->apayun->setCallbackUrl('2', null);
        $this->assertNull(array_column($this->apayun->users(), 'callback_url', 'userid')[2]);
    }

    public function testEventsNameWhatChanged(): void
    {
        $events = $this->apayun->events(5.0, fn () => $this->apayun->advance(10),
            static fn (array $seen): bool => in_array('clock', array_column($seen, 'event'), true));
        $names = array_column($events, 'event');
        $this->assertSame('ready', $names[0]);
        $this->assertContains('clock', $names);
    }

    public function testDashboardUrl(): void
    {
        $url = $this->apayun->dashboardUrl();
        $this->assertStringEndsWith('/_mock/ui#ns=' . $this->apayun->namespaceName(), $url);
        $http = \Apayun\Mock\Http::request('GET', strtok($url, '#'));
        $this->assertSame(200, $http['status']);
        $this->assertStringContainsString('<html', strtolower($http['body']));
    }

    public function testOpenApiIsTheServersDocumentWhereItHasOne(): void
    {
        try {
            $doc = $this->apayun->openApi();
        } catch (ApayunMockException $e) {
            // A server from before the document: the control API's own 404.
            $this->assertSame(['unknown_control_call', 404], [$e->reason(), $e->httpStatus()]);
            return;
        }
        $this->assertStringStartsWith('3.1', (string) $doc['openapi']);
        $this->assertNotEmpty($doc['paths']);
    }

    public function testHandlesAddressTheirNamespace(): void
    {
        $server = SharedServer::get();
        $this->assertSame('default', $server->namespaceName());
        $this->assertSame($server->baseUrl() . '/api', $server->apiUrl());
        $this->assertSame($server->baseUrl(), $server->url());
        $other = $server->namespace('handle-' . bin2hex(random_bytes(3)));
        $this->assertSame($server->baseUrl() . '/ns/' . $other->namespaceName(), $other->url());
        $this->assertSame($server->namespace('default')->url(), $server->url());
        // Made on first use, and apart from this test's namespace.
        $guid = $this->createInstance($other->client());
        $this->assertSame(1, $this->api->call('sync_baremetal', ['guid' => $guid])->code);
        $this->assertTrue($other->client()->call('sync_baremetal', ['guid' => $guid])->ok());
        $other->deleteNamespace();
        $this->assertSame($server->serverVersion(), $this->apayun->serverVersion());
    }

    public function testAClientTimeoutIsATransportError(): void
    {
        $this->apayun->addFault(\Apayun\Mock\Fault::on('getzones')->times(1)->delay(1000));
        $answer = $this->api->withTimeout(0.2)->call('getzones');
        $this->assertTrue($answer->dropped());
        $this->assertStringContainsString('timed out', (string) $answer->transportError);
        $this->assertOk($this->api->form()->call('getzones'));
    }

    public function testNamespacesCreatePutForkListDelete(): void
    {
        $server = SharedServer::get();
        $guid = $this->createInstance();
        // A fork of this namespace as it is now holds the instance.
        $copy = $this->apayun->fork();
        $this->assertTrue($copy->client()->call('sync_baremetal', ['guid' => $guid])->ok());
        // A fresh one (server-named) does not.
        $fresh = $server->createNamespace();
        $this->assertSame(1, $fresh->client()->call('sync_baremetal', ['guid' => $guid])->code);
        // A fork of a snapshot, named in the path.
        $this->apayun->snapshot('one');
        $this->createInstance();
        $name = 'put-' . bin2hex(random_bytes(4));
        $put = $server->putNamespace($name, $this->apayun->namespaceName(), 'one');
        $this->assertSame($name, $put->namespaceName());
        $this->assertCount(count($this->apayun->instances()) - 1, $put->instances());
        $named = array_column($server->namespaces()['namespaces'], 'name');
        foreach ([$copy, $fresh, $put] as $ns) {
            $this->assertContains($ns->namespaceName(), $named);
        }
        $this->assertArrayHasKey('max', $server->namespaces());
        foreach ([$copy, $fresh] as $ns) {
            $this->assertSame($ns->namespaceName(), $ns->deleteNamespace()['deleted']);
        }
        $server->deleteNamespace($name);
        $after = array_column($server->namespaces()['namespaces'], 'name');
        $this->assertNotContains($name, $after);
        try {
            $server->putNamespace($this->apayun->namespaceName());
            $this->fail('made a namespace twice');
        } catch (ApayunMockException $e) {
            $this->assertSame('namespace_exists', $e->reason());
        }
    }
}
