<?php

declare(strict_types=1);

namespace Apayun\Mock;

use InvalidArgumentException;
use LogicException;

/**
 * A fault rule, built fluently and added with `$mock->addFault($fault)`:
 *
 *     Fault::on('create')->times(2)->http(503);
 *     Fault::on('create')->error('库存不足', 'out_of_stock');
 *     Fault::on('create')->drop()->applied();       // it happened; the answer is lost
 *     Fault::on('stop')->forUser('2')->after(1)->delayBetween(50, 500);
 *     Fault::any()->probability(0.1)->drop();
 *     Fault::on('upgrade')->stall();
 *
 * The effect is the last of error/http/delay/delayBetween/drop/stall
 * called. `applied()` marks an `error`, `http` or `drop` effect as taking
 * place first, with only its answer replaced; other effects refuse it.
 */
final class Fault
{
    /** @var array<string,mixed> */
    private array $rule = [];
    /** @var array<string,mixed>|null */
    private ?array $effect = null;

    private function __construct(?string $action)
    {
        if ($action !== null) {
            $this->rule['action'] = $action;
        }
    }

    /** A rule for one `/api` action (`create`, `stop`, … `refund`). */
    public static function on(string $action): self
    {
        return new self($action);
    }

    /** A rule for every action. */
    public static function any(): self
    {
        return new self(null);
    }

    /** Only calls of this member. */
    public function forUser(string $userid): self
    {
        $this->rule['userid'] = $userid;
        return $this;
    }

    /** Lets this many matching calls through first. */
    public function after(int $calls): self
    {
        $this->rule['after'] = $calls;
        return $this;
    }

    /** Fires this many times (absent: forever). */
    public function times(int $times): self
    {
        $this->rule['times'] = $times;
        return $this;
    }

    /** Fires with this probability, 0 to 1 (drawn from the server's --rng-seed). */
    public function probability(float $probability): self
    {
        $this->rule['probability'] = $probability;
        return $this;
    }

    /** A business error (HTTP 200, `code` not 0): nothing changes unless applied(). */
    public function error(string $message = '', ?string $reason = null, int $code = 1): self
    {
        $effect = ['kind' => 'error', 'code' => $code];
        if ($message !== '') {
            $effect['message'] = $message;
        }
        if ($reason !== null) {
            $effect['reason'] = $reason;
        }
        return $this->effect($effect);
    }

    /** This HTTP status and body instead of the engine's answer. */
    public function http(int $status, string $body = ''): self
    {
        return $this->effect(['kind' => 'http', 'status' => $status, 'body' => $body]);
    }

    /** Waits `ms` milliseconds, then the call proceeds. */
    public function delay(int $ms): self
    {
        return $this->effect(['kind' => 'delay', 'ms' => $ms]);
    }

    /** Waits a uniform random time from `minMs` to `maxMs`, then the call proceeds. */
    public function delayBetween(int $minMs, int $maxMs): self
    {
        return $this->effect(['kind' => 'delay', 'min_ms' => $minMs, 'max_ms' => $maxMs]);
    }

    /** Closes the connection without an answer. */
    public function drop(): self
    {
        return $this->effect(['kind' => 'drop']);
    }

    /** The call succeeds, but the transition it schedules waits until the rule is deleted. */
    public function stall(): self
    {
        return $this->effect(['kind' => 'stall']);
    }

    /**
     * The call takes effect first, and then its answer is replaced (error,
     * http) or lost (drop): the ghost order.
     */
    public function applied(bool $applied = true): self
    {
        $kind = $this->effect['kind'] ?? null;
        if (!in_array($kind, ['error', 'http', 'drop'], true)) {
            throw new LogicException(sprintf(
                'applied() goes with an error, http or drop effect; call it after one of them (the effect is %s)',
                $kind ?? 'not set yet'));
        }
        $this->effect['applied'] = $applied;
        return $this;
    }

    /** @param array<string,mixed> $effect */
    private function effect(array $effect): self
    {
        $this->effect = $effect;
        return $this;
    }

    /** @return array<string,mixed> the rule as `POST /_mock/faults` takes it */
    public function toArray(): array
    {
        if ($this->effect === null) {
            throw new InvalidArgumentException('a fault needs an effect: error(), http(), delay(), delayBetween(), drop() or stall()');
        }
        return $this->rule + ['effect' => $this->effect];
    }
}
