<?php

/**
 * The suite's bootstrap: the autoloader of the project the package is
 * installed in (APAYUN_AUTOLOAD, e.g. a scratch project's
 * vendor/autoload.php), else this checkout's Composer autoloader, else the
 * package's own autoload.php.
 */

declare(strict_types=1);

$autoload = getenv('APAYUN_AUTOLOAD') ?: null;
foreach ([$autoload, __DIR__ . '/../vendor/autoload.php', __DIR__ . '/../autoload.php'] as $file) {
    if (is_string($file) && is_file($file)) {
        require $file;
        break;
    }
}
require_once __DIR__ . '/MockTestCase.php';
