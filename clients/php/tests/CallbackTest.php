<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\ApayunMockException;
use Apayun\Mock\CallbackReceiver;
use Apayun\Mock\Http;

/** The callback receiver, the callback log, and the callback assertions. */
final class CallbackTest extends MockTestCase
{
    private ?CallbackReceiver $receiver = null;

    protected function tearDown(): void
    {
        $this->receiver?->stop();
    }

    public function testTheReceiverRecordsWhatArrives(): void
    {
        $this->receiver = CallbackReceiver::start();
        $this->assertMatchesRegularExpression('~^http://127\.0\.0\.1:\d+/callback$~', $this->receiver->url());
        $this->assertSame([], $this->receiver->received());
        $http = Http::request('POST', $this->receiver->url(), ['Content-Type' => 'application/x-www-form-urlencoded'], 'a=1&b=two');
        $this->assertSame([200, 'success'], [$http['status'], $http['body']]);
        $this->assertSame([['a' => '1', 'b' => 'two']], $this->receiver->waitFor(1));
        $this->assertSame('POST', $this->receiver->requests()[0]['method']);
        $this->assertFalse(CallbackReceiver::signed(['a' => '1'], 'mock-api-key'));
        $this->receiver->clear();
        $this->assertSame([], $this->receiver->received());
        $url = $this->receiver->url();
        $this->receiver->stop();
        $this->assertNotNull(Http::request('GET', $url, [], null, 2.0)['error'], 'the receiver still answers after stop()');
    }

    public function testWaitForSaysWhatDidNotArrive(): void
    {
        $this->receiver = CallbackReceiver::start();
        try {
            $this->receiver->waitFor(1, 0.2);
            $this->fail('waitFor returned with nothing received');
        } catch (ApayunMockException $e) {
            $this->assertSame('receiver_failed', $e->reason());
            $this->assertStringContainsString('0 callback(s) arrived', $e->getMessage());
        }
    }

    public function testCallbacksArriveInOrderAndSigned(): void
    {
        $this->receiver = CallbackReceiver::start();
        $this->apayun->setCallbackUrl('1', $this->receiver->url());
        $guid = $this->createInstance();
        $this->apayun->advance(30);
        $this->assertOk($this->api->call('stop', ['guid' => $guid]));
        $this->apayun->advance(10);
        $got = $this->receiver->waitFor(2);
        $this->assertSame(['provisioned', 'stopped'], array_column($got, 'event'));
        $this->assertSame([$guid, $guid], array_column($got, 'guid'));
        foreach ($got as $notice) {
            $this->assertTrue(CallbackReceiver::signed($notice, 'mock-api-key'), json_encode($notice));
            $this->assertFalse(CallbackReceiver::signed($notice, 'mock-api-key-2'));
        }
        $this->receiver->assertSigned('mock-api-key');
        $this->assertCallbacksSigned($this->receiver);
        // The server's own log of the same notices.
        $record = $this->assertCallbackDelivered('stopped', $guid);
        $this->assertSame($this->receiver->url(), $record['url']);
        $this->assertSame(200, $record['attempts'][0]['status']);
        $this->assertCallbacksInOrder(['provisioned', 'stopped'], $guid);
        $this->assertCallbacksSigned();
        $this->assertCount(2, $this->apayun->callbacks());
    }

    public function testAFailingReceiverIsRetriedAndTheLogShowsEveryAttempt(): void
    {
        $this->receiver = CallbackReceiver::start(503);
        $this->apayun->setCallbackUrl('1', $this->receiver->url());
        $guid = $this->createInstance();
        $this->apayun->advance(30);
        $this->receiver->waitFor(2);
        $log = $this->apayun->callbacks();
        $this->assertSame($guid, $log[0]['params']['guid']);
        $this->assertFalse($log[0]['delivered']);
        $this->assertNotEmpty($log[0]['attempts']);
        $this->assertStringContainsString('503', (string) $log[0]['attempts'][0]['error']);
    }
}
