<?php

declare(strict_types=1);

namespace Apayun\Mock;

use RuntimeException;
use Throwable;

/**
 * The one exception of this package. `reason()` is the control API's
 * `error` field (`bad_json`, `unknown_snapshot`, `clock_backwards`, …) when
 * the server refused a control call, or one of the package's own:
 * `transport` (no answer), `bad_answer` (not the JSON a control call
 * answers), `version_too_old`, `spawn_failed`, `receiver_failed`.
 */
final class ApayunMockException extends RuntimeException
{
    public function __construct(
        private readonly string $reason,
        string $message,
        private readonly int $httpStatus = 0,
        private readonly string $body = '',
        ?Throwable $previous = null,
    ) {
        parent::__construct($message, 0, $previous);
    }

    /** The machine-readable reason: the control error's `error`, or the package's own. */
    public function reason(): string
    {
        return $this->reason;
    }

    /** The HTTP status of the refusal (0 when there was no answer). */
    public function httpStatus(): int
    {
        return $this->httpStatus;
    }

    /** The answer's body as it came. */
    public function body(): string
    {
        return $this->body;
    }
}
