<?php
/**
 * A small client for the ZKEYS (阿帕云) engine's bare-metal reseller API,
 * written the way a PHP billing system module would write it: PHP's own
 * md5(), http_build_query(), base64_encode() and json_decode(), and plain
 * stream contexts for HTTP (no curl extension needed, only php-cli).
 *
 * It works against the real engine and against apayun-mock alike. The mock
 * additionally sends an `X-Mock-Error` header with a stable reason on every
 * business error; the exception carries it when present.
 */

declare(strict_types=1);

/** A business error (code != 0) or an HTTP-level failure from the engine. */
class ZkeysApiException extends RuntimeException
{
    /** @var string|null stable snake_case reason (apayun-mock's X-Mock-Error), if sent */
    private $mockError;
    /** @var int HTTP status of the answer (0 when there was none) */
    private $httpStatus;
    /** @var array|null the decoded envelope, when there was one */
    private $response;
    /** @var array<string,string> response headers, lower-cased names */
    private $headers;

    public function __construct(string $message, int $code, ?string $mockError = null,
                                int $httpStatus = 0, ?array $response = null, array $headers = [])
    {
        parent::__construct($message, $code);
        $this->mockError = $mockError;
        $this->httpStatus = $httpStatus;
        $this->response = $response;
        $this->headers = $headers;
    }

    public function getMockError(): ?string { return $this->mockError; }
    public function getHttpStatus(): int { return $this->httpStatus; }
    public function getResponse(): ?array { return $this->response; }
    public function getHeader(string $name): ?string
    {
        $name = strtolower($name);
        return $this->headers[$name] ?? null;
    }
}

/** The engine could not be reached, or answered something that is not the envelope. */
class ZkeysTransportException extends RuntimeException
{
}

/** Minimal HTTP over PHP stream contexts; returns [status, headers, body]. */
final class ZkeysHttp
{
    /**
     * @return array{0:int,1:array<string,string>,2:string}
     */
    public static function request(string $method, string $url, string $body, string $contentType,
                                   float $timeout = 15.0, array $extraHeaders = []): array
    {
        $headers = ['Content-Type: ' . $contentType, 'Accept: application/json', 'Connection: close'];
        foreach ($extraHeaders as $h) {
            $headers[] = $h;
        }
        $opts = [
            'http' => [
                'method' => $method,
                'header' => implode("\r\n", $headers),
                'content' => $body,
                'timeout' => $timeout,
                'ignore_errors' => true, // give us the body of 4xx/5xx answers too
                'follow_location' => 0,
            ],
        ];
        $context = stream_context_create($opts);
        $raw = @file_get_contents($url, false, $context);
        if (function_exists('http_get_last_response_headers')) { // PHP >= 8.4
            $lines = http_get_last_response_headers() ?? [];
        } else {
            $lines = $http_response_header ?? [];
        }
        if ($raw === false && !$lines) {
            $err = error_get_last();
            throw new ZkeysTransportException(sprintf('%s %s failed: %s', $method, $url,
                $err['message'] ?? 'no answer'));
        }
        $status = 0;
        $parsed = [];
        foreach ($lines as $line) {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                // a new status line starts a new header block (e.g. after a 100 Continue)
                $status = (int)$m[1];
                $parsed = [];
            } elseif (strpos($line, ':') !== false) {
                [$k, $v] = explode(':', $line, 2);
                $parsed[strtolower(trim($k))] = trim($v);
            }
        }
        return [$status, $parsed, $raw === false ? '' : $raw];
    }
}

class ZkeysBaremetalClient
{
    const SIGN_SALT = 'zkeys.api@2019';

    /** @var string */
    private $apiUrl;
    /** @var string */
    private $userid;
    /** @var string */
    private $apiKey;
    /** @var string */
    private $version;
    /** @var string */
    private $systemType;
    /** @var float */
    private $timeout;
    /** @var int */
    private $taskSeq = 0;
    /** @var array<string,string> headers of the last answer */
    private $lastHeaders = [];

    /**
     * @param string $baseUrl engine root, e.g. http://127.0.0.1:8080 (the API is $baseUrl/api)
     */
    public function __construct(string $baseUrl, $userid, string $apiKey, array $options = [])
    {
        $this->apiUrl = rtrim($baseUrl, '/') . '/api';
        $this->userid = (string)$userid;
        $this->apiKey = $apiKey;
        $this->version = $options['version'] ?? '9.9.9';
        $this->systemType = $options['system_type'] ?? 'zkeys_web';
        $this->timeout = (float)($options['timeout'] ?? 15);
    }

    /** sign = md5(module + 'zkeys.api@2019' + action + userid + API key + time) */
    public function sign(string $module, string $action, int $time): string
    {
        return md5($module . self::SIGN_SALT . $action . $this->userid . $this->apiKey . $time);
    }

    /**
     * Sends one signed request and returns the envelope's `data`.
     *
     * @param array $params action parameters; nested arrays are sent PHP-style
     *                      (param[0][item]=…&param[0][value][0]=…)
     * @param array $overrides common parameters to force (e.g. a wrong `sign`, for tests)
     * @throws ZkeysApiException on code != 0 or an HTTP error
     */
    public function call(string $action, array $params = [], string $module = 'baremetal', array $overrides = [])
    {
        $time = time();
        $common = [
            'module' => $module,
            'action' => $action,
            'userid' => $this->userid,
            'time' => $time,
            'sign' => $this->sign($module, $action, $time),
            'taskid' => $this->nextTaskId(),
            'dataType' => 'json',
            'version' => $this->version,
            'system_type' => $this->systemType,
            'vtime' => $this->engineDate('Ymd'),
        ];
        $form = array_merge($common, $params, $overrides);
        $body = http_build_query($form, '', '&');

        [$status, $headers, $raw] = ZkeysHttp::request('POST', $this->apiUrl, $body,
            'application/x-www-form-urlencoded', $this->timeout);
        $this->lastHeaders = $headers;
        $mockError = $headers['x-mock-error'] ?? null;

        $json = json_decode($raw, true);
        if (!is_array($json) || !array_key_exists('code', $json)) {
            if ($status !== 200) {
                throw new ZkeysApiException(sprintf('HTTP %d from %s: %s', $status, $action,
                    substr($raw, 0, 200)), -1, $mockError, $status, null, $headers);
            }
            throw new ZkeysTransportException(sprintf('%s: answer is not the JSON envelope: %s',
                $action, substr($raw, 0, 200)));
        }
        if ((int)$json['code'] !== 0 || $status !== 200) {
            throw new ZkeysApiException((string)($json['message'] ?? 'unknown error'), (int)$json['code'],
                $mockError, $status, $json, $headers);
        }
        return $json['data'] ?? null;
    }

    /** Headers (lower-cased names) of the last answer. */
    public function lastHeaders(): array
    {
        return $this->lastHeaders;
    }

    // ---- catalog ------------------------------------------------------------

    public function getZones(): array
    {
        return $this->call('getzones')['zones'] ?? [];
    }

    public function syncLine(): array
    {
        return $this->call('sync_line');
    }

    public function syncProduct(): array
    {
        return $this->call('sync_product');
    }

    public function getSystems(int $page = 1, int $pageLength = 50): array
    {
        return $this->call('getsystems', ['page_mode' => $page, 'page_length' => $pageLength]);
    }

    // ---- instances ----------------------------------------------------------

    /**
     * @param array $order lineGuid, productGuid, systemGuid, password (plain text), months, num,
     *                     clientOrderNo, clientUserId, agent_order_no, [loginName, buyRemarks,
     *                     system_partition_size]
     * @return array the created instances (order_status "0" until provisioned)
     */
    public function create(array $order): array
    {
        return $this->call('create', [
            'lineGuid' => $order['lineGuid'],
            'productGuid' => $order['productGuid'],
            'systemGuid' => $order['systemGuid'],
            'loginName' => $order['loginName'] ?? 'root',
            'loginPassword' => base64_encode($order['password']),
            'buyRemarks' => $order['buyRemarks'] ?? '',
            'months' => $order['months'] ?? 1,
            'clientOrderNo' => $order['clientOrderNo'],
            'clientUserId' => $order['clientUserId'],
            'num' => $order['num'] ?? 1,
            'system_partition_size' => $order['system_partition_size'] ?? -1,
            'agent_order_no' => $order['agent_order_no'],
        ]);
    }

    /** One instance (data.baremetal). */
    public function getBaremetal(string $guid): array
    {
        $data = $this->call('sync_baremetal', ['guid' => $guid, 'page' => 1, 'page_size' => 10]);
        return $data['baremetal'];
    }

    /** A page of instances: total_number, total_page, baremetal[]. */
    public function listBaremetal(int $page = 1, int $number = 10): array
    {
        return $this->call('sync_baremetal', ['page' => $page, 'number' => $number]);
    }

    public function stop(string $guid) { return $this->call('stop', ['guid' => $guid]); }
    public function start(string $guid) { return $this->call('start', ['guid' => $guid]); }
    public function restart(string $guid) { return $this->call('restart', ['guid' => $guid]); }

    public function setPassword(string $guid, string $plainPassword)
    {
        return $this->call('setpass', ['guid' => $guid, 'loginPassword' => base64_encode($plainPassword)]);
    }

    public function install(string $guid, string $systemGuid, string $plainPassword,
                            string $installType = 'install', int $partitionSize = 0)
    {
        return $this->call('install', [
            'guid' => $guid,
            'systemGuid' => $systemGuid,
            'loginPassword' => base64_encode($plainPassword),
            'system_partition_size' => $partitionSize,
            'installType' => $installType,
            'install_mode' => 1,
        ]);
    }

    /** Values are increments; ip_type 1 = single IPs, 2 = subnet. */
    public function upgrade(string $guid, array $upgrade): array
    {
        return $this->call('upgrade', [
            'guid' => $guid,
            'defense' => $upgrade['defense'] ?? 0,
            'bandwidth' => $upgrade['bandwidth'] ?? 0,
            'ip_type' => $upgrade['ip_type'] ?? 1,
            'ipnum' => $upgrade['ipnum'] ?? 0,
            'clientOrderNo' => $upgrade['clientOrderNo'],
            'clientUserId' => $upgrade['clientUserId'],
            'agent_order_no' => $upgrade['agent_order_no'],
        ]);
    }

    public function degradeIpList(string $guid): array
    {
        return $this->call('degrade_ip_list', ['guid' => $guid]);
    }

    /**
     * Books a degrade. $items is the document's `param` list, e.g.
     *   [['item' => 'bandwidth', 'value' => 1, 'date' => '2021-09-02 11:03:00', 'old_value' => 6, 'new_value' => 5],
     *    ['item' => 'ip', 'value' => ['114.114.8.16-23'], 'date' => …, 'new_value' => 1], …]
     * It is sent form-encoded the PHP way: param[0][item]=bandwidth&param[1][value][0]=114.114.8.16-23…
     *
     * @return array item => degrade GUID (the answer's data.data)
     */
    public function degrade(string $guid, array $items, array $totals = []): array
    {
        $data = $this->call('degrade', [
            'guid' => $guid,
            'defense' => $totals['defense'] ?? 0,
            'bandwidth' => $totals['bandwidth'] ?? 0,
            'ipnum' => $totals['ipnum'] ?? 0,
            'param' => array_values($items),
        ]);
        return $data['data'] ?? [];
    }

    public function degradeCancel(string $guid, string $degradeGuid)
    {
        return $this->call('degrade_cancel', ['guid' => $guid, 'degrade_guid' => $degradeGuid]);
    }

    /** @return array with end_time */
    public function renew(string $guid, int $months, string $clientOrderNo, string $agentOrderNo): array
    {
        return $this->call('renew', [
            'guid' => $guid,
            'months' => $months,
            'clientOrderNo' => $clientOrderNo,
            'agent_order_no' => $agentOrderNo,
        ]);
    }

    /** Refund goes through the `common` module (and is signed with it). */
    public function refund(string $guid)
    {
        return $this->call('refund', ['guid' => $guid, 'productType' => 'baremetal'], 'common');
    }

    // ---- helpers ------------------------------------------------------------

    /** The engine's business dates are UTC+08:00. */
    public static function engineDate(string $format, ?int $timestamp = null): string
    {
        $dt = new DateTime('@' . ($timestamp ?? time()));
        $dt->setTimezone(new DateTimeZone('+08:00'));
        return $dt->format($format);
    }

    private function nextTaskId(): int
    {
        // a local task number, unique enough for a demo: seconds * 1000 + a counter
        return (time() % 1000000) * 1000 + (++$this->taskSeq % 1000);
    }
}

/** apayun-mock's control API (/_mock/...), JSON in and out. Not part of the real engine. */
class ZkeysMockControl
{
    /** @var string */
    private $base;

    public function __construct(string $baseUrl)
    {
        $this->base = rtrim($baseUrl, '/') . '/_mock';
    }

    public function health(): array { return $this->json('GET', '/health'); }
    public function clock(): array { return $this->json('GET', '/clock'); }
    public function timeline(): array { return $this->json('GET', '/timeline'); }
    public function reset(): array { return $this->json('POST', '/reset', new stdClass()); }

    /** Moves the simulated clock forward; due transitions run before it returns. */
    public function advance(int $seconds): array
    {
        return $this->json('POST', '/clock/advance', ['seconds' => $seconds]);
    }

    private function json(string $method, string $path, $body = null): array
    {
        [$status, $headers, $raw] = ZkeysHttp::request($method, $this->base . $path,
            $body === null ? '' : json_encode($body), 'application/json');
        $data = json_decode($raw, true);
        if ($status < 200 || $status >= 300 || !is_array($data)) {
            throw new ZkeysTransportException(sprintf('control API %s %s: HTTP %d %s', $method, $path,
                $status, substr($raw, 0, 200)));
        }
        return $data;
    }
}
