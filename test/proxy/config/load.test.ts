import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/proxy/config/load.js';
import { ConfigError, isGwError } from '../../../src/shared/errors.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/configs/', import.meta.url));

const TLS_CONFIG = `listeners:
  - name: secure
    protocol: http
    listen: 127.0.0.1:0
    tls: { cert: certs/cert.pem, key: certs/key.pem }
    routes: [{ upstream: app }]
upstreams:
  - name: app
    targets: [127.0.0.1:9001]
`;

/** Asserts that `promise` rejects with a ConfigError and returns `kind path line` of its issues. */
async function rejectedIssues(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'GW_ERR_CONFIG');
    assert.equal(err.exitCode, 2);
    return err.issues.map((i) => `${i.kind} ${i.path} ${i.line ?? '?'}`);
  }
  assert.fail('expected loadConfig to reject');
}

describe('loadConfig', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text);
    return path;
  }

  it('loads the full example with its TLS files, resolving them from the config directory', async () => {
    const config = await loadConfig(join(FIXTURES, 'valid-full.yaml'));
    assert.deepEqual(
      config.listeners.map((l) => [l.name, l.protocol]),
      [
        ['web', 'http'],
        ['secure', 'http'],
        ['rpc', 'grpc'],
        ['raw', 'tcp'],
      ],
    );
    const secure = config.listeners[1];
    assert.ok(secure?.protocol === 'http' && secure.tls !== undefined);
    assert.equal(secure.tls.cert, join(FIXTURES, 'tls/test-cert.pem'));
    assert.equal(config.upstreams.size, 7);
  });

  it('loads the minimal example', async () => {
    const config = await loadConfig(join(FIXTURES, 'valid-minimal.yaml'));
    assert.equal(config.listeners.length, 1);
  });

  it('reports a missing file as GW_ERR_CONFIG_NOT_FOUND with exit code 2', async () => {
    await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CONFIG_NOT_FOUND'));
      assert.equal(err.exitCode, 2);
      assert.ok(err.hint?.includes('--config'));
      return true;
    });
  });

  it('reports a directory given as the config as unreadable', async () => {
    await assert.rejects(loadConfig(dir), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CONFIG'));
      assert.equal(err.exitCode, 2);
      return true;
    });
  });

  it(
    'reports a file it may not read as unreadable',
    { skip: process.getuid?.() === 0 },
    async () => {
      const path = await write('secret.yaml', TLS_CONFIG);
      await chmod(path, 0o000);
      await assert.rejects(loadConfig(path), (err) => isGwError(err, 'GW_ERR_CONFIG'));
    },
  );

  it('reports a YAML syntax error with its line', async () => {
    const path = await write(
      'broken.yaml',
      'listeners:\n  - name: web\n    routes: [a, b\nupstreams: []\n',
    );
    assert.deepEqual(await rejectedIssues(loadConfig(path)), ['syntax  4']);
  });

  it('reports only the first syntax error of a wrong indent, not the ones that follow from it', async () => {
    const path = await write(
      'indent.yaml',
      [
        'listeners:',
        '  - name: web',
        '    protocol: http',
        '     listen: 127.0.0.1:8080', // one space too many
        '    routes: [{ upstream: app }]',
        'upstreams:',
        '  - { name: app, targets: [127.0.0.1:9001] }',
        '',
      ].join('\n'),
    );
    const issues = await rejectedIssues(loadConfig(path));
    assert.equal(issues.length, 1, issues.join('; '));
    assert.match(issues[0] ?? '', /^syntax {2}3$/);
  });

  it('reports a duplicate key as a syntax error rather than keeping one of the values', async () => {
    const path = await write('dup.yaml', 'listeners: []\nupstreams: []\nlisteners: []\n');
    assert.deepEqual(await rejectedIssues(loadConfig(path)), ['syntax  3']);
  });

  it('reports a missing TLS file with the field path and line', async () => {
    const path = await write('no-tls/gw.yaml', TLS_CONFIG);
    assert.deepEqual(await rejectedIssues(loadConfig(path)), [
      'file listeners[0].tls.cert 5',
      'file listeners[0].tls.key 5',
    ]);
  });

  it('reports a TLS file that holds no PEM data of its kind', async () => {
    const path = await write('bad-tls/gw.yaml', TLS_CONFIG);
    await write(
      'bad-tls/certs/cert.pem',
      '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
    );
    await write('bad-tls/certs/key.pem', 'not a key\n');
    assert.deepEqual(await rejectedIssues(loadConfig(path)), ['file listeners[0].tls.key 5']);
  });

  it('accepts TLS files relative to the config file, whatever the working directory', async () => {
    const path = await write('good-tls/gw.yaml', TLS_CONFIG);
    await mkdir(join(dir, 'good-tls/certs'), { recursive: true });
    await copyFile(join(FIXTURES, 'tls/test-cert.pem'), join(dir, 'good-tls/certs/cert.pem'));
    await copyFile(join(FIXTURES, 'tls/test-key.pem'), join(dir, 'good-tls/certs/key.pem'));
    const listener = (await loadConfig(path)).listeners[0];
    assert.ok(listener?.protocol === 'http');
    assert.equal(listener.tls?.key, join(dir, 'good-tls/certs/key.pem'));
  });

  it('accepts a .json config', async () => {
    const json = {
      listeners: [{ name: 'raw', protocol: 'tcp', listen: '127.0.0.1:0', upstream: 'echo' }],
      upstreams: [{ name: 'echo', targets: ['127.0.0.1:1027'] }],
    };
    const path = await write('gw.json', JSON.stringify(json, null, 2));
    const config = await loadConfig(path);
    assert.equal(config.listeners[0]?.protocol, 'tcp');
  });

  it('reports validation errors of a .json config with lines', async () => {
    const path = await write(
      'bad.json',
      '{\n  "listeners": [],\n  "upstreams": [],\n  "admin": {}\n}\n',
    );
    assert.deepEqual(await rejectedIssues(loadConfig(path)), [
      'invalid listeners 2',
      'not-supported-yet admin 4',
    ]);
  });

  it('reports an empty file as an empty config', async () => {
    const path = await write('empty.yaml', '# nothing yet\n');
    assert.deepEqual(await rejectedIssues(loadConfig(path)), ['missing  ?']);
  });
});
