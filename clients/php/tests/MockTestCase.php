<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\Answer;
use Apayun\Mock\Client;
use Apayun\Mock\PHPUnit\UsesApayunMock;
use PHPUnit\Framework\TestCase;

/**
 * The suite's base: every test runs in its own namespace through the
 * package's own trait, with the default seed and default timings.
 */
abstract class MockTestCase extends TestCase
{
    use UsesApayunMock;

    public const LINE = '1665907446560259';
    public const PRODUCT = '1665907642748705';
    public const SYSTEM = '1633652801461868';
    public const EXAMPLE_GUID = '1708330228791024';

    /** The fields of a valid create of one instance, with a fresh order number. */
    protected static function createParams(array $extra = []): array
    {
        return $extra + [
            'lineGuid' => self::LINE,
            'productGuid' => self::PRODUCT,
            'systemGuid' => self::SYSTEM,
            'loginName' => 'root',
            'loginPassword' => base64_encode('Secret#1'),
            'months' => 1,
            'num' => 1,
            'system_partition_size' => -1,
            'agent_order_no' => (string) random_int(100000000, 999999999),
        ];
    }

    /** Creates one instance and returns its GUID (provisioning: move the clock 30 s). */
    protected function createInstance(?Client $api = null, array $extra = []): string
    {
        $answer = ($api ?? $this->api)->call('create', self::createParams($extra));
        $this->assertOk($answer);
        return $answer->data[0]['guid'];
    }

    /** Creates one instance and moves the clock until it is provisioned. */
    protected function activeInstance(): string
    {
        $guid = $this->createInstance();
        $this->apayun->advance(30);
        return $guid;
    }

    protected function assertOk(Answer $answer): void
    {
        $this->assertTrue($answer->ok(), $answer->summary() . ' ' . $answer->body);
    }
}
