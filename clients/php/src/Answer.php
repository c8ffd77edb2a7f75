<?php

declare(strict_types=1);

namespace Apayun\Mock;

use SimpleXMLElement;

/**
 * What `/api` answered: the envelope's `code`, `message` and `data`, the
 * `X-Mock-Error` reason, the HTTP status, the headers and the raw body.
 *
 * `code` is null when the body is no envelope (an `http` fault's body, a
 * `drop` fault's missing answer). `transportError()` says why no answer
 * came. With `dataType=xml`, `data` is the `<data>` element.
 */
final class Answer
{
    /**
     * @param array<string,string> $headers keyed by lower-case name
     */
    public function __construct(
        public readonly string $action,
        public readonly int $status,
        public readonly ?int $code,
        public readonly ?string $message,
        public readonly mixed $data,
        public readonly ?string $reason,
        public readonly string $body,
        public readonly array $headers,
        public readonly ?string $transportError = null,
    ) {
    }

    /** @param array{status:int, headers:array<string,string>, body:string, error:?string} $http */
    public static function from(string $action, array $http): self
    {
        $headers = $http['headers'];
        $reason = $headers['x-mock-error'] ?? null;
        $body = $http['body'];
        [$code, $message, $data] = [null, null, null];
        if (str_contains($headers['content-type'] ?? '', 'xml') || str_starts_with($body, '<?xml')) {
            $xml = self::xml($body);
            if ($xml !== null && isset($xml->code)) {
                $code = (int) (string) $xml->code;
                $message = (string) $xml->message;
                $data = $xml->data;
            }
        } else {
            $envelope = Json::tryDecode($body);
            if (is_array($envelope) && array_key_exists('code', $envelope) && is_int($envelope['code'])) {
                $code = $envelope['code'];
                $message = is_string($envelope['message'] ?? null) ? $envelope['message'] : null;
                $data = $envelope['data'] ?? null;
            }
        }
        return new self($action, $http['status'], $code, $message, $data, $reason, $body, $headers, $http['error']);
    }

    private static function xml(string $body): ?SimpleXMLElement
    {
        if (!class_exists(SimpleXMLElement::class)) {
            return null;
        }
        $previous = libxml_use_internal_errors(true);
        $xml = simplexml_load_string($body);
        libxml_clear_errors();
        libxml_use_internal_errors($previous);
        return $xml === false ? null : $xml;
    }

    /** HTTP 200 and `code` 0. */
    public function ok(): bool
    {
        return $this->status === 200 && $this->code === 0;
    }

    /** No answer came: the connection closed (a `drop` fault) or timed out. */
    public function dropped(): bool
    {
        return $this->transportError !== null;
    }

    /** A response header, by any case of its name. */
    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)] ?? null;
    }

    /**
     * A value inside `data` by a dotted path: `get('baremetal.guid')`,
     * `get('0.guid')`, `get('ip.1.ip')`; null when absent.
     */
    public function get(string $path): mixed
    {
        $value = $this->data;
        foreach ($path === '' ? [] : explode('.', $path) as $key) {
            if (!is_array($value) || !array_key_exists($key, $value)) {
                return null;
            }
            $value = $value[$key];
        }
        return $value;
    }

    /** One line for messages: action, status, code, reason, message. */
    public function summary(): string
    {
        if ($this->transportError !== null) {
            return sprintf('%s: no answer (%s)', $this->action, $this->transportError);
        }
        return sprintf('%s: HTTP %d, code %s, reason %s, message %s', $this->action, $this->status,
            $this->code === null ? '-' : (string) $this->code, $this->reason ?? '-', Json::show($this->message));
    }
}
