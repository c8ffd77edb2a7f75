<?php

declare(strict_types=1);

namespace Apayun\Mock\PHPUnit;

use Apayun\Mock\ApayunMock;

/**
 * The one server a test process shares: attached from APAYUN_MOCK_URL, or
 * spawned once (with the first caller's flags) and stopped when the
 * process ends.
 */
final class SharedServer
{
    private static ?ApayunMock $server = null;

    /** @param list<string> $spawnArgs flags for a spawned server */
    public static function get(array $spawnArgs = []): ApayunMock
    {
        return self::$server ??= ApayunMock::fromEnvironment($spawnArgs);
    }

    /**
     * A name part that keeps parallel processes apart: ParaTest's
     * TEST_TOKEN, or the process id.
     */
    public static function token(): string
    {
        $token = getenv('TEST_TOKEN');
        return is_string($token) && $token !== '' ? preg_replace('/[^A-Za-z0-9]/', '', $token) : 'p' . getmypid();
    }
}
