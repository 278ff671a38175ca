/** The configuration file: settings as on the command line, and every misspelt key an error that names it. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseHostPort } from '@firebreak/server';

const dir = mkdtempSync(join(tmpdir(), 'firebreak-config-'));
function config(text: string): ReturnType<typeof loadConfig> {
  const path = join(dir, 'firebreak.yml');
  writeFileSync(path, text);
  return loadConfig(path);
}

test('settings are read, paths relative to the file', () => {
  const settings = config('listen: 127.0.0.1:9000\ndata: data\nthreads: 2\nretention: {max_age_days: 30}\nsyslog: {udp: ":5514"}\n');
  assert.deepEqual(settings.listen, { host: '127.0.0.1', port: 9000 });
  assert.equal(settings.dataDir, join(dir, 'data'));
  assert.equal(settings.threads, 2);
  assert.equal(settings.retention?.maxAgeDays, 30);
  assert.deepEqual(settings.syslog?.udp, { host: '127.0.0.1', port: 5514 });
});

test('unknown keys, top level or nested, and wrong types are errors naming them', () => {
  assert.throws(
    () => config('listne: 1.2.3.4:80\n'),
    (e: Error) => e instanceof ConfigError && /unknown setting "listne"/.test(e.message),
  );
  assert.throws(() => config('retention: {max_age: 90}\n'), /retention: unknown setting "max_age" \(known: max_age_days, max_bytes\)/);
  assert.throws(() => config('syslog: {upd: ":514"}\n'), /syslog: unknown setting "upd"/);
  assert.throws(() => config('threads: two\n'), /threads: expected a positive whole number/);
  assert.throws(() => parseHostPort('localhost', '--listen'), /"localhost" is not HOST:PORT/);
});
