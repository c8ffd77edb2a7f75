<?php

/**
 * The router script of CallbackReceiver: PHP's built-in server runs it for
 * every request and it appends the request, as one JSON line, to the file
 * named by APAYUN_RECEIVER_LOG, then answers `success` (the answer the
 * engine expects from a callback URL). APAYUN_RECEIVER_STATUS makes it
 * answer another status instead, to test retries.
 */

declare(strict_types=1);

$log = getenv('APAYUN_RECEIVER_LOG');
$status = (int) (getenv('APAYUN_RECEIVER_STATUS') ?: 200);
$raw = (string) file_get_contents('php://input');
$fields = $_POST;
if ($fields === [] && $raw !== '') {
    parse_str($raw, $fields);
}
$entry = [
    'method' => $_SERVER['REQUEST_METHOD'] ?? '',
    'path' => $_SERVER['REQUEST_URI'] ?? '',
    'content_type' => $_SERVER['CONTENT_TYPE'] ?? ($_SERVER['HTTP_CONTENT_TYPE'] ?? ''),
    'fields' => $fields,
    'body' => $raw,
    'received_at' => microtime(true),
];
if (is_string($log) && $log !== '') {
    file_put_contents($log, json_encode($entry, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n", FILE_APPEND | LOCK_EX);
}
http_response_code($status);
header('Content-Type: text/plain');
echo $status === 200 ? 'success' : 'fail';
