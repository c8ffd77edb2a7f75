<?php

declare(strict_types=1);

namespace Apayun\Mock\Tests;

use Apayun\Mock\Client;
use Apayun\Mock\Json;
use SimpleXMLElement;

/** The signed /api client and its answer object. */
final class ClientTest extends MockTestCase
{
    public function testACallIsSignedAndAnswersTheEnvelope(): void
    {
        $answer = $this->api->call('getzones');
        $this->assertOk($answer);
        $this->assertSame(200, $answer->status);
        $this->assertSame(0, $answer->code);
        $this->assertSame('success', $answer->message);
        $this->assertNull($answer->reason);
        $this->assertNotEmpty($answer->data['zones']);
        $this->assertStringStartsWith('{"code":0,', $answer->body, 'the raw body as it came');
        $this->assertStringContainsString('json', (string) $answer->header('Content-Type'));
        $this->assertFalse($answer->dropped());
    }

    public function testGuidsStayStrings(): void
    {
        $answer = $this->api->call('create', self::createParams(['num' => 2]));
        $this->assertOk($answer);
        foreach ($answer->data as $instance) {
            $this->assertIsString($instance['guid']);
            $this->assertMatchesRegularExpression('/^\d{16}$/', $instance['guid']);
        }
        $this->assertIsString($answer->get('0.guid'));
        // A number past PHP_INT_MAX stays its digits, never a rounded float.
        $this->assertSame(['id' => '123456789012345678901234'], Json::decode('{"id":123456789012345678901234}'));
        // A GUID as an array key is an int in PHP; Json::key() gives it back as the text sent.
        $keyed = Json::decode('{"1708330228791024":{"a":1}}');
        $this->assertSame(self::EXAMPLE_GUID, Json::key(array_key_first($keyed)));
    }

    public function testARefusalCarriesItsReason(): void
    {
        $answer = $this->api->call('getzones', [], ['sign' => md5('wrong')]);
        $this->assertFalse($answer->ok());
        $this->assertSame(200, $answer->status, 'business errors are HTTP 200, as the engine answers');
        $this->assertSame(1, $answer->code);
        $this->assertSame('sign_invalid', $answer->reason);
        $this->assertNotSame('', $answer->message);
        $this->assertNotNull($answer->header('X-Mock-Sign-Input'));
        $this->assertStringContainsString('sign_invalid', $answer->summary());
    }

    public function testAnotherMembersKeyIsTold(): void
    {
        $answer = $this->apayun->client('1', 'mock-api-key-2')->call('getzones');
        $this->assertSame(1, $answer->code);
        $this->assertNotNull($answer->reason);
        $this->assertTrue($this->apayun->client('2', 'mock-api-key-2')->call('getzones')->ok());
    }

    public function testXmlOnRequest(): void
    {
        $answer = $this->api->xml()->call('getzones');
        $this->assertOk($answer);
        $this->assertStringStartsWith('<?xml', $answer->body);
        $this->assertInstanceOf(SimpleXMLElement::class, $answer->data);
        $this->assertSame('1625139389577044', (string) $answer->data->zones->item[0]->guid);
        $refused = $this->api->xml()->call('sync_baremetal', ['guid' => '1'], ['sign' => 'x']);
        $this->assertSame(1, $refused->code);
        $this->assertSame('sign_invalid', $refused->reason);
    }

    public function testNestedParamsAreFlattenedToBracketNames(): void
    {
        $this->assertSame([
            'guid' => '1',
            'param[0][item]' => 'ip',
            'param[0][value][0]' => '114.114.8.16-23',
            'param[0][value][1]' => '114.114.8.24',
            'param[1][item]' => 'bandwidth',
            'param[1][value]' => '2',
            'flag' => '1',
            'off' => '0',
            'big' => '1708330228791024',
        ], Client::flatten([
            'guid' => 1,
            'param' => [['item' => 'ip', 'value' => ['114.114.8.16-23', '114.114.8.24']], ['item' => 'bandwidth', 'value' => 2]],
            'flag' => true,
            'off' => false,
            'skipped' => null,
            'big' => 1708330228791024.0,
        ]));
    }

    /** The degrade's nested `param` as form and as multipart: both book the same records. */
    public function testFormAndMultipartSendNestedDegrades(): void
    {
        foreach (['form' => $this->api, 'multipart' => $this->api->multipart()] as $encoding => $api) {
            $guid = $this->activeInstance();
            $this->assertOk($api->call('upgrade', ['guid' => $guid, 'bandwidth' => 1, 'ipnum' => 8, 'ip_type' => 2]));
            $this->apayun->advance(20);
            $range = $api->call('degrade_ip_list', ['guid' => $guid])->get('0.ip');
            $this->assertIsString($range, $encoding);
            $date = gmdate('Y-m-d H:i:s', time() + 8 * 3600 + 3 * 86400);
            $answer = $api->call('degrade', ['guid' => $guid, 'param' => [
                ['item' => 'bandwidth', 'value' => 1, 'date' => $date],
                ['item' => 'ip', 'value' => [$range], 'date' => $date],
            ]]);
            $this->assertOk($answer);
            $this->assertSame(['bandwidth', 'ip'], array_keys($answer->data['data']), $encoding);
            $this->assertApiCalled('degrade', ['guid' => $guid, 'param' => [['item' => 'bandwidth'], ['item' => 'ip', 'value' => [$range]]]]);
        }
    }

    public function testRefundGoesOutAsModuleCommon(): void
    {
        $guid = $this->activeInstance();
        $answer = $this->api->call('refund', ['guid' => $guid, 'productType' => 'baremetal']);
        $this->assertOk($answer);
        $this->assertSame('common', $this->api->common('refund')['module']);
        $this->assertApiCalled('refund', ['module' => 'common', 'guid' => $guid], 1);
        $this->assertInstanceState($guid, ['order_status' => '-2']);
    }

    public function testTheSignIsTheEngines(): void
    {
        // docs/contract.md's example: userid 1, getzones, time 1732779600.
        $this->assertSame(md5('baremetalzkeys.api@2019getzones1mock-api-key1732779600'),
            Client::sign('baremetal', 'getzones', '1', 'mock-api-key', '1732779600'));
        $common = (new Client('http://x/api', '1', 'mock-api-key'))->common('getzones', 1732779600);
        $this->assertSame(Client::sign('baremetal', 'getzones', '1', 'mock-api-key', '1732779600'), $common['sign']);
        $this->assertSame('1732779600', $common['time']);
    }
}
