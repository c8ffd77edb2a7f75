<?php
/**
 * End-to-end demo of ZkeysBaremetalClient against a running apayun-mock:
 *
 *   php examples/php/demo.php http://127.0.0.1:8080
 *
 * Walks one instance through its whole life (create → provisioned → stop →
 * setpass → start → restart → upgrade → degrade → cancel → renew → refund),
 * moving the mock's simulated clock with its control API instead of sleeping.
 * Each step asserts what it expects; the first failure stops the script with
 * exit status 1.
 */

declare(strict_types=1);

require __DIR__ . '/ZkeysBaremetalClient.php';

const USERID = 1;
const API_KEY = 'mock-api-key';
const LINE_GUID = '1665907446560259';
const PRODUCT_GUID = '1665907642748705';
const SYSTEM_GUID = '1633652801461868';

class DemoFailure extends RuntimeException
{
}

$baseUrl = $argv[1] ?? getenv('APAYUN_MOCK_URL') ?: '';
if ($baseUrl === '') {
    fwrite(STDERR, "usage: php demo.php BASE_URL   (e.g. http://127.0.0.1:8080)\n");
    exit(2);
}

$client = new ZkeysBaremetalClient($baseUrl, USERID, API_KEY);
$mock = new ZkeysMockControl($baseUrl);

$passed = 0;
$stepNo = 0;

/** Runs one named step; its callable returns a short summary line. Stops the script on failure. */
function step(string $name, callable $fn): void
{
    global $passed, $stepNo;
    $stepNo++;
    try {
        $summary = $fn();
    } catch (Throwable $e) {
        $what = $e->getMessage();
        if ($e instanceof ZkeysApiException) {
            $what = sprintf('engine answered code %d "%s" (X-Mock-Error: %s, HTTP %d)', $e->getCode(),
                $e->getMessage(), $e->getMockError() ?? '-', $e->getHttpStatus());
        } elseif (!$e instanceof DemoFailure) {
            $what = get_class($e) . ': ' . $what;
        }
        printf("[%2d] FAIL %s: %s\n", $stepNo, $name, $what);
        printf("%d passed, 1 failed\n", $passed);
        exit(1);
    }
    $passed++;
    printf("[%2d] ok   %s%s\n", $stepNo, $name, $summary ? ' — ' . $summary : '');
}

function check(bool $condition, string $message): void
{
    if (!$condition) {
        throw new DemoFailure($message);
    }
}

function checkEq($expected, $actual, string $what): void
{
    if ($expected !== $actual) {
        throw new DemoFailure(sprintf('%s: expected %s, got %s', $what,
            json_encode($expected, JSON_UNESCAPED_UNICODE), json_encode($actual, JSON_UNESCAPED_UNICODE)));
    }
}

/** Short state string of an instance, for messages. */
function state(array $bm): string
{
    return sprintf('order_status=%s run_status=%s act_status=%s', $bm['order_status'] ?? '?',
        $bm['run_status'] ?? '?', $bm['act_status'] ?? '?');
}

/**
 * Moves the simulated clock forward in small steps until $done($instance) holds.
 * @return array{0:array,1:int} the instance and the simulated seconds it took
 */
function advanceUntil(ZkeysBaremetalClient $client, ZkeysMockControl $mock, string $guid,
                      callable $done, string $what, int $stepSeconds = 5, int $maxSeconds = 600): array
{
    $elapsed = 0;
    while (true) {
        $bm = $client->getBaremetal($guid);
        if ($done($bm)) {
            return [$bm, $elapsed];
        }
        if ($elapsed >= $maxSeconds) {
            throw new DemoFailure(sprintf('%s: not reached after %d simulated seconds (%s)', $what,
                $elapsed, state($bm)));
        }
        $mock->advance($stepSeconds);
        $elapsed += $stepSeconds;
    }
}

$run = bin2hex(random_bytes(4));     // makes order numbers unique per run
$orderSeq = 0;
$orderNo = function () use ($run, &$orderSeq): string {
    return sprintf('%s%03d', hexdec($run) % 100000000, ++$orderSeq);
};
$ctx = [];                           // what later steps need from earlier ones

printf("apayun-mock PHP demo against %s (PHP %s)\n", $baseUrl, PHP_VERSION);

step('control API health', function () use ($mock) {
    $h = $mock->health();
    checkEq('ok', $h['status'] ?? null, 'GET /_mock/health status');
    $c = $mock->clock();
    return 'simulated clock at ' . $c['now'];
});

step('getzones', function () use ($client) {
    $zones = $client->getZones();
    check(count($zones) >= 2, 'expected at least 2 zones, got ' . count($zones));
    foreach ($zones as $z) {
        check(isset($z['guid'], $z['name'], $z['max_year']), 'zone lacks guid/name/max_year: ' . json_encode($z));
        check(is_string($z['guid']), 'zone guid should be a string');
    }
    return count($zones) . ' zones: ' . implode(', ', array_column($zones, 'name'));
});

step('sync_line', function () use ($client, &$ctx) {
    $lines = $client->syncLine();
    check(is_array($lines) && $lines, 'sync_line returned no lines');
    $line = null;
    foreach ($lines as $l) {
        if ($l['guid'] === LINE_GUID) {
            $line = $l;
        }
    }
    check($line !== null, 'line ' . LINE_GUID . ' not in sync_line');
    checkEq('1', $line['buy_status'], 'buy_status');
    checkEq('1', $line['upgrade_status'], 'upgrade_status');
    checkEq('1', $line['reservation_degrade_status'], 'reservation_degrade_status');
    check(in_array('2', explode(',', $line['ip_upgrade_type']), true), 'line does not allow subnet upgrades');
    check(in_array('1', explode(',', $line['months']), true), 'line does not sell 1 month');
    $ctx['line'] = $line;
    return sprintf('%d lines; %s: bandwidth ≤ %s, defense step %s, ip/bandwidth rate %s', count($lines),
        LINE_GUID, $line['bandwidth_max_size'], $line['defense_step'], $line['ip_bandwidth_rate']);
});

step('bad sign is refused (code 1, X-Mock-Error sign_invalid)', function () use ($client) {
    try {
        $client->call('getzones', [], 'baremetal', ['sign' => md5('not the right sign')]);
    } catch (ZkeysApiException $e) {
        checkEq(1, $e->getCode(), 'code');
        checkEq('sign_invalid', $e->getMockError(), 'X-Mock-Error');
        checkEq(200, $e->getHttpStatus(), 'HTTP status of a business error');
        check($e->getMessage() !== '', 'empty message');
        $input = $e->getHeader('X-Mock-Sign-Input');
        return sprintf('"%s"%s', $e->getMessage(), $input ? "; mock hashed: $input" : '');
    }
    throw new DemoFailure('a request with a wrong sign was accepted');
});

step('create (num 1)', function () use ($client, $orderNo, &$ctx) {
    $ctx['password'] = 'Demo#Pass-' . bin2hex(random_bytes(3));
    $created = $client->create([
        'lineGuid' => LINE_GUID,
        'productGuid' => PRODUCT_GUID,
        'systemGuid' => SYSTEM_GUID,
        'password' => $ctx['password'],
        'months' => 1,
        'num' => 1,
        'clientOrderNo' => $orderNo(),
        'clientUserId' => '1100123',
        'agent_order_no' => $orderNo(),
        'buyRemarks' => 'php demo',
    ]);
    check(is_array($created) && count($created) === 1, 'expected an array of 1 instance, got ' . json_encode($created));
    $bm = $created[0];
    check(!empty($bm['guid']), 'created instance has no guid');
    checkEq('0', $bm['order_status'], 'order_status right after create (开通中)');
    checkEq(LINE_GUID, $bm['line_guid'], 'line_guid');
    checkEq(PRODUCT_GUID, $bm['product_guid'], 'product_guid');
    checkEq('root', $bm['login_name'], 'login_name');
    $ctx['guid'] = $bm['guid'];
    $ctx['end_time'] = $bm['end_time'];
    return sprintf('guid %s, cabinet %s, %s', $bm['guid'], $bm['cabinet_sn'] ?? '?', state($bm));
});

step('advance clock until provisioned', function () use ($client, $mock, &$ctx) {
    [$bm, $secs] = advanceUntil($client, $mock, $ctx['guid'],
        function ($bm) { return $bm['order_status'] === '1'; }, 'provisioning');
    checkEq('1', $bm['run_status'], 'run_status once provisioned');
    checkEq('0', $bm['act_status'], 'act_status once provisioned');
    return sprintf('order_status 1 after %d simulated seconds', $secs);
});

step('sync_baremetal (single)', function () use ($client, &$ctx) {
    $bm = $client->getBaremetal($ctx['guid']);
    checkEq($ctx['guid'], $bm['guid'], 'guid');
    checkEq(SYSTEM_GUID, $bm['system_guid'], 'system_guid');
    checkEq('5', $bm['bandwidth'], 'bandwidth (product default)');
    checkEq('5', $bm['defense'], 'defense (product default)');
    check(is_array($bm['ip']) && count($bm['ip']) === 1, 'expected exactly the primary IP, got ' . json_encode($bm['ip']));
    checkEq('1', $bm['ip'][0]['is_default'], 'primary ip is_default');
    checkEq('ip', $bm['ip'][0]['net_type'], 'primary ip net_type');
    checkEq([], $bm['upgrade'], 'upgrade records of a new instance');
    checkEq([], $bm['degrades'], 'degrades of a new instance');
    $ctx['primary_ip'] = $bm['ip'][0]['ip'];
    $ctx['end_time'] = $bm['end_time'];
    // the list view shows it too, newest first
    $list = $client->listBaremetal(1, 10);
    check(isset($list['total_number'], $list['total_page'], $list['baremetal']), 'list view lacks total_number/total_page/baremetal');
    checkEq($ctx['guid'], $list['baremetal'][0]['guid'] ?? null, 'newest instance first in the list view');
    return sprintf('primary IP %s, ends %s; list view: %s instances', $ctx['primary_ip'], $bm['end_time'], $list['total_number']);
});

step('stop → advance', function () use ($client, $mock, &$ctx) {
    $client->stop($ctx['guid']);
    $bm = $client->getBaremetal($ctx['guid']);
    checkEq('6', $bm['act_status'], 'act_status right after stop (关机中)');
    [$bm, $secs] = advanceUntil($client, $mock, $ctx['guid'],
        function ($bm) { return $bm['act_status'] === '0'; }, 'stop');
    checkEq('-1', $bm['run_status'], 'run_status after stop');
    return sprintf('stopped after %ds (%s)', $secs, state($bm));
});

step('setpass (while stopped) → advance', function () use ($client, $mock, &$ctx) {
    $client->setPassword($ctx['guid'], 'N3w-' . $ctx['password']);
    $bm = $client->getBaremetal($ctx['guid']);
    checkEq('3', $bm['act_status'], 'act_status right after setpass (密码重设中)');
    [$bm, $secs] = advanceUntil($client, $mock, $ctx['guid'],
        function ($bm) { return $bm['act_status'] === '0'; }, 'setpass');
    checkEq('-1', $bm['run_status'], 'run_status after setpass');
    return sprintf('password set after %ds', $secs);
});

step('start → advance', function () use ($client, $mock, &$ctx) {
    $client->start($ctx['guid']);
    $bm = $client->getBaremetal($ctx['guid']);
    checkEq('5', $bm['act_status'], 'act_status right after start (开机中)');
    [$bm, $secs] = advanceUntil($client, $mock, $ctx['guid'],
        function ($bm) { return $bm['act_status'] === '0'; }, 'start');
    checkEq('1', $bm['run_status'], 'run_status after start');
    return sprintf('running after %ds', $secs);
});

step('restart → advance', function () use ($client, $mock, &$ctx) {
    $client->restart($ctx['guid']);
    $bm = $client->getBaremetal($ctx['guid']);
    checkEq('1', $bm['act_status'], 'act_status right after restart (重启中)');
    [$bm, $secs] = advanceUntil($client, $mock, $ctx['guid'],
        function ($bm) { return $bm['act_status'] === '0'; }, 'restart');
    checkEq('1', $bm['run_status'], 'run_status after restart');
    return sprintf('restarted after %ds', $secs);
});

step('upgrade (subnet of 8, +1M bandwidth, +5G defense) → advance', function () use ($client, $mock, $orderNo, &$ctx) {
    $res = $client->upgrade($ctx['guid'], [
        'ip_type' => 2,
        'ipnum' => 8,
        'bandwidth' => 1,
        'defense' => 5,
        'clientOrderNo' => $orderNo(),
        'clientUserId' => '1100123',
        'agent_order_no' => $orderNo(),
    ]);
    check(!empty($res['order_no_api']), 'upgrade answer lacks order_no_api');
    $ips = $res['ip'] ?? [];
    checkEq(8, count($ips), 'number of subnet entries');
    checkEq(['network', 'gateway', 'ip', 'ip', 'ip', 'ip', 'ip', 'broadcast'], array_column($ips, 'net_type'), 'net_type order');
    foreach ($ips as $ip) {
        checkEq('255.255.255.248', $ip['mask'], 'mask of ' . $ip['ip']);
        checkEq($ips[1]['ip'], $ip['gateway'], 'gateway of ' . $ip['ip'] . ' (the second address)');
    }
    $network = ip2long($ips[0]['ip']);
    checkEq(0, $network % 8, 'subnet alignment of ' . $ips[0]['ip']);
    checkEq($network + 7, ip2long($ips[7]['ip']), 'broadcast address');
    $last = explode('.', $ips[7]['ip'])[3];
    $ctx['range'] = $ips[0]['ip'] . '-' . $last;         // e.g. 114.114.8.16-23

    [$bm, $secs] = advanceUntil($client, $mock, $ctx['guid'],
        function ($bm) { return $bm['act_status'] === '0' && $bm['bandwidth'] === '6'; }, 'upgrade');
    checkEq('10', $bm['defense'], 'defense after upgrade');
    $types = array_column($bm['upgrade'], 'type');
    sort($types);
    checkEq(['bandwidth', 'defense', 'ipnum'], $types, 'upgrade record types');
    foreach ($bm['upgrade'] as $u) {
        checkEq('1', $u['status'], 'status of upgrade record ' . $u['type']);
        checkEq($res['order_no_api'], $u['order_no_api'], 'order_no_api of upgrade record ' . $u['type']);
        if ($u['type'] === 'ipnum') {
            checkEq($ctx['range'], $u['value'], 'ipnum upgrade record value');
            checkEq('8', $u['nums'], 'ipnum upgrade record nums');
        }
    }
    $active = array_filter($bm['ip'], function ($i) { return $i['status'] === '1'; });
    checkEq(9, count($active), 'active IP entries (primary + 8)');
    return sprintf('order %s, subnet %s, bandwidth %s, defense %s, done after %ds',
        $res['order_no_api'], $ctx['range'], $bm['bandwidth'], $bm['defense'], $secs);
});

step('degrade_ip_list', function () use ($client, &$ctx) {
    $list = $client->degradeIpList($ctx['guid']);
    $ips = array_column($list, 'ip');
    checkEq([$ctx['range']], $ips, 'degradable IPs (the upgraded subnet only)');
    checkEq('255.255.255.248', $list[0]['mask'], 'mask');
    return implode(', ', $ips);
});

step('degrade (nested param: bandwidth + ip range + defense)', function () use ($client, &$ctx) {
    // a billing system books the degrade for the end of the customer's paid period;
    // here: three days from now, written in the engine's zone (UTC+8)
    $date = ZkeysBaremetalClient::engineDate('Y-m-d H:i:s', time() + 3 * 86400);
    $ctx['degrade_date'] = $date;
    $items = [
        ['item' => 'bandwidth', 'value' => 1, 'date' => $date, 'old_value' => 6, 'new_value' => 5],
        ['item' => 'ip', 'value' => [$ctx['range']], 'date' => $date, 'new_value' => 1],
        ['item' => 'defense', 'value' => 5, 'date' => $date, 'old_value' => 10, 'new_value' => 5],
    ];
    $guids = $client->degrade($ctx['guid'], $items, ['bandwidth' => 1, 'ipnum' => 8, 'defense' => 5]);
    foreach (['bandwidth', 'ip', 'defense'] as $item) {
        check(!empty($guids[$item]), "degrade answer has no GUID for $item: " . json_encode($guids));
    }
    $ctx['degrades'] = $guids;

    $bm = $client->getBaremetal($ctx['guid']);
    checkEq(3, count($bm['degrades']), 'degrade records');
    foreach ($bm['degrades'] as $d) {
        checkEq('0', $d['status'], 'status of degrade ' . $d['item'] . ' (待执行)');
        checkEq($date, $d['apply_time'], 'apply_time of degrade ' . $d['item']);
        checkEq($guids[$d['item']] ?? null, $d['guid'], 'guid of degrade ' . $d['item']);
    }
    checkEq('6', $bm['bandwidth'], 'bandwidth before apply_time');
    checkEq([], $client->degradeIpList($ctx['guid']), 'degrade_ip_list once the subnet has a pending degrade');
    return sprintf('booked for %s: %s', $date, json_encode($guids));
});

step('degrade_cancel (defense)', function () use ($client, &$ctx) {
    $client->degradeCancel($ctx['guid'], $ctx['degrades']['defense']);
    $bm = $client->getBaremetal($ctx['guid']);
    $byItem = array_column($bm['degrades'], 'status', 'item');
    ksort($byItem);
    checkEq(['bandwidth' => '0', 'defense' => '-1', 'ip' => '0'], $byItem, 'degrade statuses');
    try {
        $client->degradeCancel($ctx['guid'], $ctx['degrades']['defense']);
    } catch (ZkeysApiException $e) {
        checkEq(1, $e->getCode(), 'code when cancelling twice');
        return sprintf('defense cancelled; cancelling again refused: "%s" (%s)', $e->getMessage(), $e->getMockError() ?? '-');
    }
    throw new DemoFailure('cancelling an already cancelled degrade was accepted');
});

step('renew (1 month)', function () use ($client, $orderNo, &$ctx) {
    $before = $client->getBaremetal($ctx['guid'])['end_time'];
    $no = $orderNo();
    $res = $client->renew($ctx['guid'], 1, $no, $no);
    check(!empty($res['end_time']), 'renew answer lacks end_time');
    check(strcmp($res['end_time'], $before) > 0, "end_time did not move: $before → {$res['end_time']}");
    $expected = (new DateTime($before))->modify('+1 month');
    // same day-of-month clamping caveat as the engine: compare only when no clamping happened
    if ((int)(new DateTime($before))->format('d') <= 28) {
        checkEq($expected->format('Y-m-d H:i:s'), $res['end_time'], 'end_time after renewing 1 month');
    }
    checkEq($res['end_time'], $client->getBaremetal($ctx['guid'])['end_time'], 'end_time in sync_baremetal');
    return "end_time $before → {$res['end_time']}";
});

step('refund (module common, productType baremetal)', function () use ($client, &$ctx) {
    $client->refund($ctx['guid']);
    $bm = $client->getBaremetal($ctx['guid']);
    checkEq('-2', $bm['order_status'], 'order_status after refund (已删除)');
    foreach ($bm['ip'] as $ip) {
        checkEq('-1', $ip['status'], 'status of IP ' . $ip['ip'] . ' after refund');
    }
    foreach ($bm['degrades'] as $d) {
        checkEq('-1', $d['status'], 'status of degrade ' . $d['item'] . ' after refund');
    }
    try {
        $client->stop($ctx['guid']);
    } catch (ZkeysApiException $e) {
        checkEq(1, $e->getCode(), 'code of stop on a refunded instance');
        return sprintf('order_status -2, %d IPs released; stop now refused (%s)', count($bm['ip']), $e->getMockError() ?? '-');
    }
    throw new DemoFailure('stop on a refunded instance was accepted');
});

printf("%d passed, 0 failed\n", $passed);
exit(0);
