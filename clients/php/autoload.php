<?php

/**
 * The package's PSR-4 autoloader for use without Composer (a script, the
 * repository's own example): `require 'clients/php/autoload.php';`.
 * With Composer, `vendor/autoload.php` does the same.
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    $prefix = 'Apayun\\Mock\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
