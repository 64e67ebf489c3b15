import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runGw } from '../../helpers/cli.js';
import { bareCall } from '../../helpers/h2-bare.js';
import { startTestGateway } from '../../helpers/proxy.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-none-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('discovery with no targets, and --register mistakes', () => {
  it('a gRPC call to an upstream whose discovery found nothing ends with status 14', async () => {
    const file = join(dir, 'none.yaml');
    writeFileSync(file, '[]\n');
    const gw = await startTestGateway(`
listeners:
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:0, routes: [{ upstream: api }] }
upstreams:
  - { name: api, discovery: { type: file, path: ${file} } }
`);
    try {
      assert.equal(await bareCall(gw.port('rpc')), '14');
      assert.ok(
        gw.log.some((l) => l.startsWith('upstream api: 0 targets from file') && l.includes('503')),
        gw.log.join('\n'),
      );
    } finally {
      await gw.close();
    }
  });

  it('gw backend --register refuses what is not etcd://HOST:PORT/PREFIX before opening a port', async () => {
    const { code, stderr } = await runGw([
      'backend',
      'http',
      '--register',
      'http://127.0.0.1:2379/x/',
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /invalid --register .*not an etcd URL.*GW_ERR_INVALID_ARGUMENT/);
    assert.doesNotMatch(stderr, /listening/);
  });
});
