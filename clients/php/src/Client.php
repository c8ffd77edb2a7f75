<?php

declare(strict_types=1);

namespace Apayun\Mock;

use CURLFile;

/**
 * A signed client for the engine's `/api`, as one member (userid and key).
 *
 *     $answer = $mock->client('1', 'mock-api-key')->call('create', [...]);
 *
 * Every call carries the common fields (`module`, `action`, `userid`,
 * `time`, `sign`, `version`, `system_type`, `vtime`) and is signed
 * `md5(module . 'zkeys.api@2019' . action . userid . key . time)`.
 * `refund` goes out with `module=common`, as the engine wants it.
 *
 * Form encoding (the default) and multipart both flatten nested arrays to
 * PHP bracket names (`param[0][item]=ip`): PHP's curl sends an array
 * CURLOPT_POSTFIELDS as multipart but refuses a nested one.
 */
final class Client
{
    public const FORM = 'form';
    public const MULTIPART = 'multipart';

    private string $encoding = self::FORM;
    private bool $xml = false;
    private float $timeout = 30.0;

    public function __construct(
        private readonly string $apiUrl,
        private readonly string $userid,
        private readonly string $key,
    ) {
    }

    /** The same member, sending multipart/form-data instead of a form. */
    public function multipart(): self
    {
        $copy = clone $this;
        $copy->encoding = self::MULTIPART;
        return $copy;
    }

    /** The same member, sending a form (the default). */
    public function form(): self
    {
        $copy = clone $this;
        $copy->encoding = self::FORM;
        return $copy;
    }

    /** The same member, asking for XML answers (`dataType=xml`). */
    public function xml(bool $xml = true): self
    {
        $copy = clone $this;
        $copy->xml = $xml;
        return $copy;
    }

    /** The same member with another time-out for each call, in seconds. */
    public function withTimeout(float $seconds): self
    {
        $copy = clone $this;
        $copy->timeout = $seconds;
        return $copy;
    }

    public function userid(): string
    {
        return $this->userid;
    }

    public function url(): string
    {
        return $this->apiUrl;
    }

    /**
     * Sends one signed call. `$params` are the action's own fields (nested
     * arrays allowed); `$override` replaces common fields after signing
     * (`['sign' => 'bad']`, `['time' => '1']`) to test refusals.
     *
     * @param array<string,mixed> $params
     * @param array<string,string> $override
     */
    public function call(string $action, array $params = [], array $override = []): Answer
    {
        $fields = array_replace($this->common($action), self::flatten($params), $override);
        if ($this->xml) {
            $fields['dataType'] = 'xml';
        }
        if ($this->encoding === self::MULTIPART) {
            // An array body: curl writes multipart/form-data with its own boundary.
            $http = Http::request('POST', $this->apiUrl, [], $fields, $this->timeout);
        } else {
            $http = Http::request('POST', $this->apiUrl,
                ['Content-Type' => 'application/x-www-form-urlencoded'],
                http_build_query($fields, '', '&', PHP_QUERY_RFC3986), $this->timeout);
        }
        return Answer::from($action, $http);
    }

    /**
     * The common fields of a call, signed now.
     *
     * @return array<string,string>
     */
    public function common(string $action, ?int $time = null): array
    {
        $module = $action === 'refund' ? 'common' : 'baremetal';
        $time = (string) ($time ?? time());
        return [
            'module' => $module,
            'action' => $action,
            'userid' => $this->userid,
            'time' => $time,
            'sign' => self::sign($module, $action, $this->userid, $this->key, $time),
            'version' => '9.9.9',
            'system_type' => 'zkeys_web',
            'vtime' => gmdate('Ymd', (int) $time + 8 * 3600),
        ];
    }

    /** The engine's sign, as it signs requests and callbacks. */
    public static function sign(string $module, string $action, string $userid, string $key, string $time): string
    {
        return md5($module . 'zkeys.api@2019' . $action . $userid . $key . $time);
    }

    /**
     * Nested arrays to PHP bracket names, scalars to text: `['param' =>
     * [['item' => 'ip', 'value' => ['a', 'b']]]]` becomes `param[0][item]=ip`,
     * `param[0][value][0]=a`, `param[0][value][1]=b`. `true` is "1", `false`
     * "0"; null is left out, as http_build_query leaves it out. A CURLFile
     * stays as it is (multipart only).
     *
     * @param array<int|string,mixed> $params
     * @return array<string,string|CURLFile>
     */
    public static function flatten(array $params, string $prefix = ''): array
    {
        $out = [];
        foreach ($params as $key => $value) {
            $name = $prefix === '' ? (string) $key : $prefix . '[' . $key . ']';
            if (is_array($value)) {
                $out += self::flatten($value, $name);
            } elseif ($value === null) {
                continue;
            } elseif (is_bool($value)) {
                $out[$name] = $value ? '1' : '0';
            } elseif ($value instanceof CURLFile) {
                $out[$name] = $value;
            } elseif (is_float($value)) {
                // Never 1.0E+15: an integer-valued float is written whole.
                $out[$name] = floor($value) === $value && abs($value) < 1e18
                    ? sprintf('%.0f', $value) : (string) $value;
            } else {
                $out[$name] = (string) $value;
            }
        }
        return $out;
    }
}
