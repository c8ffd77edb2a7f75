<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMockException;
use Apayun\Mock\Fault;

/**
 * The ghost order: the engine did the create, but its answer never reached
 * the caller. The caller retries with the same agent_order_no, gets the
 * same instance, and buys nothing twice.
 */
final class GhostOrderTest extends MockTestCase
{
    /**
     * Skips unless this server takes `applied` on fault effects. The probe
     * is an applied `error` rule, which a server without ghost orders
     * refuses (`bad_json`, naming the field); a `drop` rule it would take
     * and silently ignore the field of.
     */
    private function requireApplied(): void
    {
        try {
            $probe = $this->apayun->addFault(Fault::on('getzones')->times(1)->error()->applied());
        } catch (ApayunMockException $e) {
            if (in_array($e->reason(), ['bad_json', 'bad_fault'], true) && str_contains($e->getMessage(), 'applied')) {
                $this->markTestSkipped('this server refuses "applied" on fault effects (it has no ghost orders yet): ' . $e->getMessage());
            }
            throw $e;
        }
        $this->apayun->removeFault($probe);
    }

    /** Adds an applied rule; the server echoes it with `applied` true. */
    private function addApplied(Fault $fault): array
    {
        $rule = $this->apayun->addFault($fault);
        $this->assertTrue($rule['effect']['applied'] ?? null, 'the rule as the server keeps it: ' . json_encode($rule));
        return $rule;
    }

    public function testACreateWhoseAnswerIsLostIsFoundAndReplayedNotBoughtTwice(): void
    {
        $this->requireApplied();
        $this->addApplied(Fault::on('create')->times(1)->drop()->applied());
        $order = self::createParams();
        $count = fn (): int => (int) $this->api->call('sync_baremetal', ['page' => 1, 'number' => 10])->data['total_number'];
        $before = $count();   // the seed's example instance

        // The answer is lost: the caller cannot know the instance exists.
        $lost = $this->api->call('create', $order);
        $this->assertTrue($lost->dropped(), $lost->summary());

        // It does: sync_baremetal lists it.
        $listed = $this->api->call('sync_baremetal', ['page' => 1, 'number' => 10]);
        $this->assertOk($listed);
        $this->assertSame($before + 1, (int) $listed->data['total_number']);
        $guid = $listed->data['baremetal'][0]['guid'];   // newest first
        $this->assertIsString($guid);

        // The retry with the same agent_order_no answers the same instance.
        $retry = $this->api->call('create', $order);
        $this->assertOk($retry);
        $this->assertSame($guid, $retry->data[0]['guid']);
        $this->assertSame($before + 1, $count(), 'one instance bought, not two');

        // The journal shows both calls, the first with its fault and effects.
        $calls = $this->assertApiCalled('create', ['agent_order_no' => $order['agent_order_no']], 2);
        [$retried, $applied] = $calls;
        $this->assertNotNull($applied['fault'], 'the applied call names its fault');
        $this->assertNotEmpty($applied['effects'], 'the applied call has effects');
        $this->assertSame($guid, $applied['guid']);
        $this->assertSame($guid, $retried['guid'], 'the replay names the instance it answered with');

        // Provisioning goes on as for any create.
        $this->apayun->advance(30);
        $this->assertInstanceState($guid, ['order_status' => '1']);
    }

    public function testAnAppliedErrorAndHttpFaultAlsoLeaveTheInstance(): void
    {
        $this->requireApplied();
        $this->addApplied(Fault::on('create')->times(1)->http(502, 'Bad Gateway')->applied());
        $this->addApplied(Fault::on('renew')->times(1)->error('系统繁忙', 'busy')->applied());
        $this->assertSame(502, $this->api->call('create', self::createParams())->status);
        $guid = $this->api->call('sync_baremetal', ['page' => 1, 'number' => 10])->data['baremetal'][0]['guid'] ?? null;
        $this->assertIsString($guid, 'the create took effect behind the 502');
        $this->apayun->advance(30);
        $before = $this->apayun->instance($guid)['instance']['end_time'];
        $renew = $this->api->call('renew', ['guid' => $guid, 'months' => 1]);
        $this->assertSame([1, 'busy'], [$renew->code, $renew->reason]);
        $this->assertNotSame($before, $this->apayun->instance($guid)['instance']['end_time'], 'the renew took effect behind the error');
    }
}
