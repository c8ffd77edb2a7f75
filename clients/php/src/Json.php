<?php

declare(strict_types=1);

namespace Apayun\Mock;

use JsonException;
use stdClass;

/**
 * JSON as the mock needs it from PHP.
 *
 * Decoding keeps a number too large for an int as a string
 * (`JSON_BIGINT_AS_STRING`), so an ID is never rounded into a float. The
 * engine sends every GUID as a JSON string, which stays a string as a
 * value; PHP turns a numeric string used as an array *key* into an int,
 * which no decoder can prevent (see `Json::key()`).
 *
 * Encoding writes an empty PHP array as `{}` at the top level: a control
 * body is an object, and `json_encode([])` writes `[]`.
 */
final class Json
{
    /** @return mixed the value, objects as associative arrays */
    public static function decode(string $text): mixed
    {
        return json_decode($text, true, 512, JSON_BIGINT_AS_STRING | JSON_THROW_ON_ERROR);
    }

    /** Like decode(), or null when $text is not JSON. */
    public static function tryDecode(string $text): mixed
    {
        try {
            return self::decode($text);
        } catch (JsonException) {
            return null;
        }
    }

    /** A control body: an object, `{}` when empty. */
    public static function body(array|stdClass $value): string
    {
        if ($value === []) {
            return '{}';
        }
        return json_encode($value, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
    }

    /** For messages: compact, readable Chinese and slashes. */
    public static function show(mixed $value): string
    {
        $text = json_encode($value, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR);
        return $text === false ? var_export($value, true) : $text;
    }

    /**
     * An array key as the string the server sent: PHP stores the key
     * "1708330228791024" as the int 1708330228791024, so compare keys with
     * `Json::key($k) === $guid`, not `$k === $guid`.
     */
    public static function key(int|string $key): string
    {
        return (string) $key;
    }
}
