<?php

declare(strict_types=1);

namespace Apayun\Mock;

/**
 * An apayun-mock binary this process started (ApayunMock::spawn()): its
 * URL, and stop(), which also runs at shutdown.
 */
final class ServerProcess
{
    /** @var resource|null */
    private $process;
    private bool $stopped = false;

    /**
     * @param resource $process from proc_open
     */
    private function __construct($process, public readonly string $url, private readonly string $dir)
    {
        $this->process = $process;
        register_shutdown_function([$this, 'stop']);
    }

    /**
     * Starts `$bin serve --port 0 …$args`, waits for its first line
     * (`listening on http://…`) at most `$timeout` seconds.
     *
     * @param list<string> $args
     * @throws ApayunMockException `spawn_failed`, with the binary's stderr
     */
    public static function start(string $bin, array $args, float $timeout): self
    {
        $dir = sys_get_temp_dir() . '/apayun-mock-' . getmypid() . '-' . bin2hex(random_bytes(4));
        if (!@mkdir($dir, 0700) && !is_dir($dir)) {
            throw new ApayunMockException('spawn_failed', "cannot make the folder $dir for the server's output");
        }
        $command = array_merge([$bin, 'serve', '--port', '0', '--bind', '127.0.0.1'], $args);
        // Output goes to files, not pipes: a pipe nobody reads would fill and block the server.
        $process = @proc_open($command, [
            0 => ['file', '/dev/null', 'r'],
            1 => ['file', "$dir/stdout", 'w'],
            2 => ['file', "$dir/stderr", 'w'],
        ], $pipes);
        if (!is_resource($process)) {
            throw new ApayunMockException('spawn_failed', sprintf('cannot start %s (set APAYUN_MOCK_BIN to the apayun-mock binary, or put it on PATH)', $bin));
        }
        $deadline = microtime(true) + $timeout;
        while (true) {
            $out = (string) @file_get_contents("$dir/stdout");
            $line = strtok($out, "\n");
            if ($line !== false && str_contains($out, "\n") && str_starts_with($line, 'listening on ')) {
                return new self($process, trim(substr($line, strlen('listening on '))), $dir);
            }
            $status = proc_get_status($process);
            if (!$status['running'] || microtime(true) > $deadline) {
                $stderr = trim((string) @file_get_contents("$dir/stderr"));
                if ($status['running']) {
                    proc_terminate($process);
                }
                proc_close($process);
                self::remove($dir);
                $why = $status['running']
                    ? sprintf('did not print its URL within %.0f s', $timeout)
                    : sprintf('exited with code %d before listening', $status['exitcode']);
                throw new ApayunMockException('spawn_failed', sprintf('%s %s; its stderr: %s', implode(' ', $command), $why,
                    $stderr === '' ? '(empty)' : $stderr));
            }
            // Start-up takes milliseconds; this polls the output file, not a transition.
            usleep(10_000);
        }
    }

    /** The server's log so far (its stderr). */
    public function log(): string
    {
        return (string) @file_get_contents("$this->dir/stderr");
    }

    /** Stops the server (SIGTERM; it exits within a second) and removes its output. */
    public function stop(): void
    {
        if ($this->stopped || $this->process === null) {
            return;
        }
        $this->stopped = true;
        proc_terminate($this->process);
        proc_close($this->process);
        $this->process = null;
        self::remove($this->dir);
    }

    private static function remove(string $dir): void
    {
        foreach (['stdout', 'stderr'] as $f) {
            @unlink("$dir/$f");
        }
        @rmdir($dir);
    }
}
