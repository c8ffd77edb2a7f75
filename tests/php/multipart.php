<?php
/**
 * Calls apayun-mock the most common way a PHP client does: php-curl with an
 * array as CURLOPT_POSTFIELDS, which curl sends as multipart/form-data.
 * Nested fields are written with PHP bracket names (curl does not flatten
 * arrays itself). Prints one JSON object with what each call answered and
 * the Content-Type curl sent, for tests/api/multipart.rs to check.
 *
 *   php tests/php/multipart.php BASE_URL GUID
 */

declare(strict_types=1);

if ($argc !== 3) {
    fwrite(STDERR, "usage: php multipart.php BASE_URL GUID\n");
    exit(2);
}
if (!function_exists('curl_init')) {
    fwrite(STDERR, "the curl extension is missing: install php-curl\n");
    exit(3);
}
[$_, $base, $exampleGuid] = $argv;

function signed(string $action, array $fields, string $module = 'baremetal'): array
{
    $time = (string) time();
    $common = [
        'module' => $module,
        'action' => $action,
        'userid' => '1',
        'time' => $time,
        'sign' => md5($module . 'zkeys.api@2019' . $action . '1' . 'mock-api-key' . $time),
        'version' => '9.9.9',
        'system_type' => 'zkeys_web',
        'vtime' => gmdate('Ymd', time() + 8 * 3600),
    ];
    return $common + $fields;
}

function post(string $url, array $fields): array
{
    $ch = curl_init($url . '/api');
    curl_setopt($ch, CURLOPT_POST, true);
    curl_setopt($ch, CURLOPT_POSTFIELDS, $fields);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($ch, CURLINFO_HEADER_OUT, true);
    curl_setopt($ch, CURLOPT_TIMEOUT, 10);
    $body = curl_exec($ch);
    if ($body === false) {
        fwrite(STDERR, 'curl: ' . curl_error($ch) . "\n");
        exit(1);
    }
    $sent = (string) curl_getinfo($ch, CURLINFO_HEADER_OUT);
    preg_match('/^content-type:\s*([^\r\n]*)/mi', $sent, $m);
    return [
        'content_type' => $m[1] ?? '',
        'answer' => json_decode($body, true),
    ];
}

$date = gmdate('Y-m-d H:i:s', time() + 8 * 3600 + 2 * 86400);
$out = [];
// A file part goes to $_FILES in PHP, never to $_POST: the call must not see it.
$out['getzones'] = post($base, signed('getzones', ['upload' => new CURLFile(__FILE__)]));
$out['create'] = post($base, signed('create', [
    'lineGuid' => '1665907446560259',
    'productGuid' => '1665907642748705',
    'systemGuid' => '1633652801461868',
    'loginName' => 'root',
    'loginPassword' => 'QWE1MzUwMjkyNzkh',
    'buyRemarks' => 'from php-curl',
    'months' => '1',
    'num' => '1',
    'system_partition_size' => '-1',
    'agent_order_no' => '590682534662098777',
    'clientOrderNo' => '18369',
    'clientUserId' => '1100123',
]));
$out['degrade'] = post($base, signed('degrade', [
    'guid' => $exampleGuid,
    'param[0][item]' => 'bandwidth',
    'param[0][value]' => '5',
    'param[0][date]' => $date,
    'param[1][item]' => 'ip',
    'param[1][value][]' => '114.114.8.16-23',
    'param[1][date]' => $date,
]));
echo json_encode($out), "\n";
