<?php

declare(strict_types=1);

namespace Apayun\Mock;

/**
 * A callback receiver for tests: PHP's built-in server (`php -S`) on a
 * free loopback port, recording every request that reaches it.
 *
 *     $receiver = CallbackReceiver::start();
 *     $mock->setCallbackUrl('1', $receiver->url());
 *     // … create, advance the clock …
 *     $notices = $receiver->waitFor(1);        // the form fields of each callback
 *     $receiver->assertSigned('mock-api-key'); // or signed($notice, $key)
 *
 * Callbacks are sent by the server in the background after the clock
 * moves, so `waitFor()` polls what arrived, up to a time-out. It stops
 * with `stop()` or when this process ends.
 */
final class CallbackReceiver
{
    /** @var resource|null */
    private $process;
    private bool $stopped = false;

    /** @param resource $process */
    private function __construct($process, private readonly int $port, private readonly string $dir)
    {
        $this->process = $process;
        register_shutdown_function([$this, 'stop']);
    }

    /**
     * Starts a receiver. `$status` is the HTTP status it answers (200:
     * `success`); another one makes the server retry.
     *
     * @throws ApayunMockException `receiver_failed` when it does not start
     */
    public static function start(int $status = 200, float $timeout = 10.0): self
    {
        $dir = sys_get_temp_dir() . '/apayun-receiver-' . getmypid() . '-' . bin2hex(random_bytes(4));
        if (!@mkdir($dir, 0700) && !is_dir($dir)) {
            throw new ApayunMockException('receiver_failed', "cannot make the folder $dir");
        }
        touch("$dir/log.jsonl");
        // A free port: bind to 0, read the port, close, hand it to `php -S`.
        $probe = @stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($probe === false) {
            throw new ApayunMockException('receiver_failed', "cannot find a free loopback port: $errstr");
        }
        $port = (int) substr((string) strrchr((string) stream_socket_get_name($probe, false), ':'), 1);
        fclose($probe);
        $env = getenv();
        $env['APAYUN_RECEIVER_LOG'] = "$dir/log.jsonl";
        $env['APAYUN_RECEIVER_STATUS'] = (string) $status;
        $env['PHP_CLI_SERVER_WORKERS'] = '1';
        $process = proc_open([PHP_BINARY, '-n', '-S', "127.0.0.1:$port", dirname(__DIR__) . '/bin/receiver.php'], [
            0 => ['file', '/dev/null', 'r'],
            1 => ['file', "$dir/server.log", 'w'],
            2 => ['file', "$dir/server.log", 'a'],
        ], $pipes, null, $env);
        if (!is_resource($process)) {
            throw new ApayunMockException('receiver_failed', 'cannot start ' . PHP_BINARY . ' -S');
        }
        $deadline = microtime(true) + $timeout;
        while (true) {
            $socket = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 0.2);
            if ($socket !== false) {
                fclose($socket);
                return new self($process, $port, $dir);
            }
            $state = proc_get_status($process);
            if (!$state['running'] || microtime(true) > $deadline) {
                proc_terminate($process);
                proc_close($process);
                throw new ApayunMockException('receiver_failed', sprintf('php -S 127.0.0.1:%d did not start: %s', $port,
                    trim((string) @file_get_contents("$dir/server.log")) ?: '(no output)'));
            }
            // Start-up takes milliseconds; this polls a socket, not a transition.
            usleep(10_000);
        }
    }

    /** The URL to give the server as a callback URL. */
    public function url(string $path = '/callback'): string
    {
        return "http://127.0.0.1:$this->port$path";
    }

    /**
     * Every request received so far, oldest first: `method`, `path`,
     * `content_type`, `fields` (the form), `body` (raw), `received_at`.
     *
     * @return list<array<string,mixed>>
     */
    public function requests(): array
    {
        $out = [];
        $text = (string) @file_get_contents("$this->dir/log.jsonl");
        foreach (explode("\n", $text) as $line) {
            if ($line !== '') {
                $out[] = Json::decode($line);
            }
        }
        return $out;
    }

    /**
     * The form fields of every callback received so far, oldest first.
     *
     * @return list<array<string,string>>
     */
    public function received(): array
    {
        return array_map(static fn (array $r): array => $r['fields'], $this->requests());
    }

    /**
     * Waits until at least `$count` callbacks have arrived (polling, at
     * most `$timeout` seconds) and returns them.
     *
     * @return list<array<string,string>>
     * @throws ApayunMockException `receiver_failed` when fewer arrive in time
     */
    public function waitFor(int $count, float $timeout = 10.0): array
    {
        $deadline = microtime(true) + $timeout;
        while (count($got = $this->received()) < $count) {
            if (microtime(true) > $deadline) {
                throw new ApayunMockException('receiver_failed', sprintf('%d callback(s) arrived at %s within %.1f s, not %d: %s',
                    count($got), $this->url(), $timeout, $count, Json::show($got)));
            }
            // Delivery is real network I/O in the server's background.
            usleep(20_000);
        }
        return $got;
    }

    /** Whether one callback's `sign` is the engine's sign with `$key`. */
    public static function signed(array $fields, string $key): bool
    {
        foreach (['module', 'action', 'userid', 'time', 'sign'] as $f) {
            if (!is_string($fields[$f] ?? null)) {
                return false;
            }
        }
        $want = Client::sign($fields['module'], $fields['action'], $fields['userid'], $key, $fields['time']);
        return hash_equals($want, strtolower(trim($fields['sign'])));
    }

    /**
     * Throws unless every callback received is signed with `$key`.
     *
     * @throws ApayunMockException `bad_sign`, naming the callback
     */
    public function assertSigned(string $key): void
    {
        foreach ($this->received() as $i => $fields) {
            if (!self::signed($fields, $key)) {
                throw new ApayunMockException('bad_sign', sprintf('callback #%d is not signed with the key: %s', $i + 1, Json::show($fields)));
            }
        }
    }

    /** Forgets what arrived so far. */
    public function clear(): void
    {
        file_put_contents("$this->dir/log.jsonl", '', LOCK_EX);
    }

    /** Stops the receiver and removes its files. */
    public function stop(): void
    {
        if ($this->stopped || $this->process === null) {
            return;
        }
        $this->stopped = true;
        proc_terminate($this->process);
        proc_close($this->process);
        $this->process = null;
        foreach (['log.jsonl', 'server.log'] as $f) {
            @unlink("$this->dir/$f");
        }
        @rmdir($this->dir);
    }
}
