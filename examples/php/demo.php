<?php
/**
 * End-to-end demo of the apayun/mock package (clients/php):
 *
 *   php examples/php/demo.php                         # spawns APAYUN_MOCK_BIN (or apayun-mock on PATH)
 *   php examples/php/demo.php http://127.0.0.1:8080   # attaches to a running server
 *
 * Walks one instance through its whole life (create → provisioned → stop →
 * setpass → start → restart → upgrade → degrade → cancel → renew → refund)
 * in a namespace of its own, moving the simulated clock instead of
 * sleeping, then shows a ghost order when the server has them. Each step
 * checks what it expects; the first failure stops the script with exit
 * status 1.
 */

declare(strict_types=1);

// With Composer (`composer require --dev apayun/mock`) this is vendor/autoload.php.
require __DIR__ . '/../../clients/php/autoload.php';

use Apayun\Mock\Answer;
use Apayun\Mock\ApayunMock;
use Apayun\Mock\ApayunMockException;
use Apayun\Mock\Fault;

const LINE_GUID = '1665907446560259';
const PRODUCT_GUID = '1665907642748705';
const SYSTEM_GUID = '1633652801461868';

final class DemoFailure extends RuntimeException
{
}

try {
    $server = isset($argv[1]) ? ApayunMock::attach($argv[1]) : ApayunMock::spawn();
} catch (ApayunMockException $e) {
    fwrite(STDERR, "demo.php: {$e->getMessage()}\n");
    exit(2);
}
// A namespace of its own: other instances on the server don't get in the
// way, and the demo runs any number of times.
$mock = $server->createNamespace('php-demo-' . bin2hex(random_bytes(3)));
$api = $mock->client('1', 'mock-api-key');

$passed = 0;
$stepNo = 0;

/** Runs one named step; its callable returns a short summary line. Stops the script on failure. */
function step(string $name, callable $fn): void
{
    global $passed, $stepNo, $mock;
    $stepNo++;
    try {
        $summary = $fn();
    } catch (Throwable $e) {
        $what = $e instanceof DemoFailure ? $e->getMessage() : get_class($e) . ': ' . $e->getMessage();
        printf("[%2d] FAIL %s: %s\n", $stepNo, $name, $what);
        printf("%d passed, 1 failed\n", $passed);
        $mock->deleteNamespace();
        exit(1);
    }
    $passed++;
    printf("[%2d] ok   %s%s\n", $stepNo, $name, $summary ? ' — ' . $summary : '');
}

function checkEq(mixed $expected, mixed $actual, string $what): void
{
    if ($expected !== $actual) {
        throw new DemoFailure(sprintf('%s: expected %s, got %s', $what,
            json_encode($expected, JSON_UNESCAPED_UNICODE), json_encode($actual, JSON_UNESCAPED_UNICODE)));
    }
}

/** The answer's data, or a failure naming the call and its reason. */
function ok(Answer $answer): mixed
{
    if (!$answer->ok()) {
        throw new DemoFailure($answer->summary());
    }
    return $answer->data;
}

function bm(string $guid): array
{
    global $api;
    return ok($api->call('sync_baremetal', ['guid' => $guid]))['baremetal'];
}

/** Moves the clock by `$seconds` and checks the instance is idle again with these fields. */
function settle(string $guid, int $seconds, array $want): array
{
    global $mock;
    $mock->advance($seconds);
    $bm = bm($guid);
    foreach ($want + ['act_status' => '0'] as $field => $value) {
        checkEq($value, $bm[$field], "$field after $seconds simulated seconds");
    }
    return $bm;
}

$orderNo = static fn (): string => (string) random_int(100000000, 999999999);
$ctx = [];

printf("apayun-mock %s PHP demo in %s (PHP %s)\n", $server->serverVersion(), $mock->url(), PHP_VERSION);

step('control API health and clock', function () use ($mock) {
    checkEq('ok', $mock->health()['status'], 'health');
    return 'simulated clock at ' . $mock->clock()['now'];
});

step('getzones', function () use ($api) {
    $zones = ok($api->call('getzones'))['zones'];
    foreach ($zones as $z) {
        checkEq(true, is_string($z['guid']), 'a zone GUID is a string');
    }
    return count($zones) . ' zones: ' . implode(', ', array_column($zones, 'name'));
});

step('sync_line', function () use ($api, &$ctx) {
    $lines = array_column(ok($api->call('sync_line')), null, 'guid');
    $line = $lines[LINE_GUID] ?? throw new DemoFailure('line ' . LINE_GUID . ' not in sync_line');
    checkEq('1', $line['upgrade_status'], 'upgrade_status');
    $ctx['line'] = $line;
    return sprintf('%d lines; bandwidth ≤ %s, ip/bandwidth rate %s', count($lines), $line['bandwidth_max_size'], $line['ip_bandwidth_rate']);
});

step('a bad sign is refused (code 1, X-Mock-Error sign_invalid)', function () use ($api) {
    $answer = $api->call('getzones', [], ['sign' => md5('not the right sign')]);
    checkEq([200, 1, 'sign_invalid'], [$answer->status, $answer->code, $answer->reason], 'status, code, reason');
    return sprintf('"%s"; mock hashed: %s', $answer->message, $answer->header('X-Mock-Sign-Input'));
});

step('create (num 1)', function () use ($api, $orderNo, &$ctx) {
    $ctx['order'] = $orderNo();
    $created = ok($api->call('create', [
        'lineGuid' => LINE_GUID, 'productGuid' => PRODUCT_GUID, 'systemGuid' => SYSTEM_GUID,
        'loginName' => 'root', 'loginPassword' => base64_encode('Demo#Pass-1'),
        'months' => 1, 'num' => 1, 'system_partition_size' => -1,
        'agent_order_no' => $ctx['order'], 'clientOrderNo' => $orderNo(), 'clientUserId' => '1100123',
    ]));
    checkEq('0', $created[0]['order_status'], 'order_status right after create (开通中)');
    $ctx['guid'] = $created[0]['guid'];
    return sprintf('guid %s, cabinet %s', $ctx['guid'], $created[0]['cabinet_sn'] ?? '?');
});

step('advance the clock 30 s: provisioned', function () use (&$ctx) {
    $bm = settle($ctx['guid'], 30, ['order_status' => '1', 'run_status' => '1']);
    return 'primary IP ' . $bm['ip'][0]['ip'];
});

step('stop → 10 s', function () use ($api, &$ctx) {
    ok($api->call('stop', ['guid' => $ctx['guid']]));
    checkEq('6', bm($ctx['guid'])['act_status'], 'act_status right after stop (关机中)');
    settle($ctx['guid'], 10, ['run_status' => '-1']);
});

step('setpass (while stopped) → 15 s', function () use ($api, &$ctx) {
    ok($api->call('setpass', ['guid' => $ctx['guid'], 'loginPassword' => base64_encode('N3w#Pass')]));
    checkEq('3', bm($ctx['guid'])['act_status'], 'act_status right after setpass (密码重设中)');
    settle($ctx['guid'], 15, ['run_status' => '-1']);
});

step('start → 10 s', function () use ($api, &$ctx) {
    ok($api->call('start', ['guid' => $ctx['guid']]));
    settle($ctx['guid'], 10, ['run_status' => '1']);
});

step('restart → 20 s', function () use ($api, &$ctx) {
    ok($api->call('restart', ['guid' => $ctx['guid']]));
    checkEq('1', bm($ctx['guid'])['act_status'], 'act_status right after restart (重启中)');
    settle($ctx['guid'], 20, ['run_status' => '1']);
});

step('upgrade (subnet of 8, +1M bandwidth, +5G defense) → 20 s', function () use ($api, $orderNo, &$ctx) {
    $res = ok($api->call('upgrade', ['guid' => $ctx['guid'], 'ip_type' => 2, 'ipnum' => 8, 'bandwidth' => 1, 'defense' => 5,
        'agent_order_no' => $orderNo()]));
    checkEq(['network', 'gateway', 'ip', 'ip', 'ip', 'ip', 'ip', 'broadcast'], array_column($res['ip'], 'net_type'), 'net_type order');
    $ctx['range'] = $res['ip'][0]['ip'] . '-' . explode('.', $res['ip'][7]['ip'])[3];
    $bm = settle($ctx['guid'], 20, ['bandwidth' => '6', 'defense' => '10']);
    return sprintf('subnet %s, bandwidth %s, defense %s', $ctx['range'], $bm['bandwidth'], $bm['defense']);
});

step('degrade_ip_list', function () use ($api, &$ctx) {
    checkEq([$ctx['range']], array_column(ok($api->call('degrade_ip_list', ['guid' => $ctx['guid']])), 'ip'), 'degradable IPs');
});

step('degrade (nested param, flattened to param[0][item]…)', function () use ($api, $mock, &$ctx) {
    // Three days ahead on the engine's clock, written in its zone.
    $date = date('Y-m-d H:i:s', strtotime($mock->clock()['now']) + 3 * 86400);
    $guids = ok($api->call('degrade', ['guid' => $ctx['guid'], 'param' => [
        ['item' => 'bandwidth', 'value' => 1, 'date' => $date],
        ['item' => 'ip', 'value' => [$ctx['range']], 'date' => $date],
        ['item' => 'defense', 'value' => 5, 'date' => $date],
    ]]))['data'];
    checkEq(['bandwidth', 'ip', 'defense'], array_keys($guids), 'degrade GUIDs by item');
    $ctx['degrades'] = $guids;
    return "booked for $date";
});

step('degrade_cancel (defense)', function () use ($api, &$ctx) {
    ok($api->call('degrade_cancel', ['guid' => $ctx['guid'], 'degrade_guid' => $ctx['degrades']['defense']]));
    $again = $api->call('degrade_cancel', ['guid' => $ctx['guid'], 'degrade_guid' => $ctx['degrades']['defense']]);
    checkEq(1, $again->code, 'code when cancelling twice');
    return 'cancelling again: ' . $again->reason;
});

step('the degrades apply at their date', function () use ($mock, &$ctx) {
    $bm = settle($ctx['guid'], 3 * 86400, ['bandwidth' => '5']);
    $byItem = array_column($bm['degrades'], 'status', 'item');
    ksort($byItem);
    checkEq(['bandwidth' => '1', 'defense' => '-1', 'ip' => '1'], $byItem, 'degrade statuses');
});

step('renew (1 month)', function () use ($api, $orderNo, &$ctx) {
    $before = bm($ctx['guid'])['end_time'];
    $after = ok($api->call('renew', ['guid' => $ctx['guid'], 'months' => 1, 'agent_order_no' => $orderNo()]))['end_time'];
    checkEq(true, $after > $before, "end_time moved ($before → $after)");
    return "end_time $before → $after";
});

step('refund (module common)', function () use ($api, &$ctx) {
    ok($api->call('refund', ['guid' => $ctx['guid'], 'productType' => 'baremetal']));
    checkEq('-2', bm($ctx['guid'])['order_status'], 'order_status after refund (已删除)');
    return 'stop now: ' . $api->call('stop', ['guid' => $ctx['guid']])->reason;
});

step('the journal holds every call', function () use ($mock, &$ctx) {
    $creates = $mock->journal(['action' => 'create']);
    checkEq($ctx['order'], $creates[0]['params']['agent_order_no'] ?? null, 'the create in the journal');
    return count($mock->journal()) . ' calls, ' . count($mock->journal(['guid' => $ctx['guid']])) . ' naming the instance';
});

step('a ghost order: the create happened, its answer was lost', function () use ($api, $mock, $orderNo) {
    try {
        $rule = $mock->addFault(Fault::on('create')->times(1)->drop()->applied());
    } catch (ApayunMockException $e) {
        return 'skipped: this server refuses applied faults (' . $e->reason() . ')';
    }
    if (($rule['effect']['applied'] ?? false) !== true) {
        $mock->removeFault($rule);
        return 'skipped: this server ignores "applied" on a drop';
    }
    $order = ['lineGuid' => LINE_GUID, 'productGuid' => PRODUCT_GUID, 'systemGuid' => SYSTEM_GUID,
        'loginName' => 'root', 'loginPassword' => base64_encode('Demo#Pass-1'), 'months' => 1, 'num' => 1,
        'agent_order_no' => $orderNo()];
    checkEq(true, $api->call('create', $order)->dropped(), 'the first answer is lost');
    // Reconciliation finds it; the retry with the same agent_order_no answers it again.
    $ghost = ok($api->call('sync_baremetal', ['page' => 1, 'number' => 1]))['baremetal'][0]['guid'];
    checkEq($ghost, ok($api->call('create', $order))[0]['guid'], 'the retry answers the instance the lost call made');
    return "the retry answered $ghost, bought once";
});

$mock->deleteNamespace();
printf("%d passed, 0 failed\n", $passed);
exit(0);
