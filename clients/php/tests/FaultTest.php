<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMockException;
use Apayun\Mock\Fault;
use InvalidArgumentException;
use LogicException;

/** The fault builder, every effect through a real server, and the rule calls. */
final class FaultTest extends MockTestCase
{
    public function testTheBuilderWritesTheRule(): void
    {
        $this->assertSame(['action' => 'create', 'userid' => '2', 'after' => 1, 'times' => 2, 'probability' => 0.5,
            'effect' => ['kind' => 'error', 'code' => 1, 'message' => '库存不足', 'reason' => 'out_of_stock']],
            Fault::on('create')->forUser('2')->after(1)->times(2)->probability(0.5)->error('库存不足', 'out_of_stock')->toArray());
        $this->assertSame(['effect' => ['kind' => 'http', 'status' => 503, 'body' => '']], Fault::any()->http(503)->toArray());
        $this->assertSame(['kind' => 'delay', 'ms' => 200], Fault::any()->delay(200)->toArray()['effect']);
        $this->assertSame(['kind' => 'delay', 'min_ms' => 5, 'max_ms' => 9], Fault::any()->delayBetween(5, 9)->toArray()['effect']);
        $this->assertSame(['kind' => 'stall'], Fault::any()->stall()->toArray()['effect']);
        $this->assertSame(['kind' => 'drop', 'applied' => true], Fault::any()->drop()->applied()->toArray()['effect']);
        $this->assertSame(['kind' => 'http', 'status' => 502, 'body' => 'x', 'applied' => true], Fault::any()->http(502, 'x')->applied()->toArray()['effect']);
        $this->assertSame(['kind' => 'error', 'code' => 1, 'applied' => true], Fault::any()->error()->applied()->toArray()['effect']);
    }

    public function testAppliedGoesOnlyWithErrorHttpOrDrop(): void
    {
        $this->expectException(LogicException::class);
        Fault::any()->delay(5)->applied();
    }

    public function testARuleNeedsAnEffect(): void
    {
        $this->expectException(InvalidArgumentException::class);
        Fault::on('create')->toArray();
    }

    public function testErrorAnswersTheBusinessErrorAndChangesNothing(): void
    {
        $rule = $this->apayun->addFault(Fault::on('create')->times(1)->error('库存不足', 'out_of_stock'));
        $this->assertIsInt($rule['id']);
        $answer = $this->api->call('create', self::createParams());
        $this->assertSame([1, 'out_of_stock', '库存不足', 200], [$answer->code, $answer->reason, $answer->message, $answer->status]);
        $this->assertSame([], $this->apayun->instances(['userid' => '1', 'order_status' => '0']));
        $this->assertOk($this->api->call('create', self::createParams()), 'times 1: the second call goes through');
        $this->assertSame(1, $this->apayun->faults()[0]['fired']);
    }

    public function testHttpAnswersTheStatusAndBody(): void
    {
        $this->apayun->addFault(Fault::on('getzones')->http(503, 'upstream busy'));
        $answer = $this->api->call('getzones');
        $this->assertSame(503, $answer->status);
        $this->assertSame('upstream busy', $answer->body);
        $this->assertNull($answer->code, 'no envelope');
        $this->assertFalse($answer->ok());
    }

    public function testDelayWaitsThenTheCallProceeds(): void
    {
        $this->apayun->addFault(Fault::on('getzones')->times(1)->delay(300));
        $this->apayun->addFault(Fault::on('sync_line')->times(1)->delayBetween(100, 150));
        $start = microtime(true);
        $this->assertOk($this->api->call('getzones'));
        $this->assertGreaterThanOrEqual(0.3, microtime(true) - $start);
        $start = microtime(true);
        $this->assertOk($this->api->call('sync_line'));
        $this->assertGreaterThanOrEqual(0.1, microtime(true) - $start);
    }

    public function testDropClosesTheConnectionWithoutAnAnswer(): void
    {
        $this->apayun->addFault(Fault::on('create')->drop());
        $answer = $this->api->call('create', self::createParams());
        $this->assertTrue($answer->dropped());
        $this->assertSame(0, $answer->status);
        $this->assertNull($answer->code);
        $this->assertStringContainsString('no answer', $answer->summary());
        $this->assertSame([], $this->apayun->instances(['userid' => '1', 'order_status' => '0']), 'without applied(), nothing happened');
    }

    public function testStallHoldsTheTransitionUntilTheRuleGoes(): void
    {
        $guid = $this->activeInstance();
        $rule = $this->apayun->addFault(Fault::on('stop')->stall());
        $this->assertOk($this->api->call('stop', ['guid' => $guid]));
        $this->apayun->advance('1h');
        $this->assertInstanceState($guid, ['act_status' => '6', 'run_status' => '1']);
        $held = array_values(array_filter($this->apayun->timeline(), static fn (array $t): bool => $t['guid'] === $guid && $t['kind'] === 'stopped'));
        $this->assertSame($rule['id'], $held[0]['stalled_by']);
        $this->assertSame($rule['id'], $this->apayun->removeFault($rule)['removed']);
        $this->assertInstanceState($guid, ['act_status' => '0', 'run_status' => '-1']);
    }

    public function testListAndClear(): void
    {
        $this->apayun->addFault(Fault::on('stop')->drop());
        $this->apayun->addFault(['action' => 'start', 'effect' => ['kind' => 'drop']]);
        $this->assertSame(['stop', 'start'], array_column($this->apayun->faults(), 'action'));
        $this->assertSame(['faults' => []], $this->apayun->clearFaults());
        $this->assertSame([], $this->apayun->faults());
        try {
            $this->apayun->addFault(Fault::on('crate')->drop());
            $this->fail('a rule for an unknown action was accepted');
        } catch (ApayunMockException $e) {
            $this->assertContains($e->reason(), ['bad_fault', 'bad_json']);
            $this->assertSame(400, $e->httpStatus());
        }
    }
}
