<?php

declare(strict_types=1);

namespace Apayun\Mock;

/**
 * One HTTP exchange over curl, with the answer's status, headers and body.
 * Internal to the package; ApayunMock and Client build on it.
 *
 * @internal
 */
final class Http
{
    /**
     * @param array<string,string> $headers request headers
     * @param string|array<string,mixed>|null $body a string is sent as it is; an array as multipart
     * @return array{status:int, headers:array<string,string>, body:string, error:?string}
     *         headers keyed by lower-case name; status 0 and `error` set when no answer came
     */
    public static function request(string $method, string $url, array $headers = [], string|array|null $body = null, float $timeout = 30.0): array
    {
        $curl = curl_init($url);
        if ($curl === false) {
            return ['status' => 0, 'headers' => [], 'body' => '', 'error' => "curl cannot open $url"];
        }
        $received = [];
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        // curl adds `Expect: 100-continue` to larger bodies and waits for it.
        $lines[] = 'Expect:';
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_TIMEOUT_MS => (int) round($timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => 5000,
            // The mock is usually on loopback: a CI's proxy must not see it.
            CURLOPT_PROXY => '',
            CURLOPT_NOPROXY => '*',
            CURLOPT_HEADERFUNCTION => static function ($handle, string $line) use (&$received): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $received[strtolower(trim($parts[0]))] = trim($parts[1]);
                } elseif (str_starts_with($line, 'HTTP/')) {
                    // A new status line (after a 100 Continue): its headers only.
                    $received = [];
                }
                return strlen($line);
            },
        ]);
        if ($body !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
        }
        $text = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = null;
        if ($text === false) {
            $error = curl_error($curl) ?: 'no answer';
            $status = 0;
            $text = '';
        }
        curl_close($curl);
        return ['status' => $status, 'headers' => $received, 'body' => (string) $text, 'error' => $error];
    }
}
