import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Etcd3 } from 'etcd3';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { etcdClient } from '../../../src/proxy/discovery/etcd-client.js';
import { GwProcess, runGw } from '../../helpers/cli.js';
import { freePort, startEtcd, type TestEtcd } from '../../helpers/discovery.js';
import { startBackends, targets } from '../../helpers/proxy.js';

let dir: string;
let etcd: TestEtcd;
let client: Etcd3;
const backends: RunningBackend[] = [];
const processes: GwProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-config-etcd-'));
  etcd = await startEtcd();
  client = etcdClient([etcd.endpoint]);
  backends.push(...(await startBackends('http', 'c', 1)));
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(backends.map((b) => b.close()));
  client.close();
  await etcd.close();
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** A config in YAML as a person writes it (comments included), listening on `port`. */
function httpConfig(port: number): string {
  return `# published with gw proxy config put
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${port}
    routes: [{ upstream: app }]
upstreams:
  - { name: app, targets: ${targets(backends)} }
`;
}

let keys = 0;
const url = (): { url: string; key: string } => {
  const key = `/gw/cli-${++keys}`;
  return { url: `etcd://127.0.0.1:${etcd.port}${key}`, key };
};

describe('gw proxy config put|get and --config etcd:// (CLI, real etcd)', () => {
  it('put refuses an invalid file with the errors --check gives, exit 2, writing nothing', async () => {
    const { url: at, key } = url();
    const file = await configFile(
      'bad.yaml',
      httpConfig(0).replace('127.0.0.1:0', '127.0.0.1:70000'),
    );
    const put = await runGw(['proxy', 'config', 'put', at, file]);
    const check = await runGw(['proxy', '--check', '--config', file]);
    assert.equal(put.code, 2);
    assert.equal(put.stdout, '');
    assert.equal(put.stderr, check.stderr);
    assert.match(put.stderr, /bad\.yaml:5:13: listeners\[0\]\.listen: port out of range/);
    assert.equal(await client.get(key).string(), null);
  });

  it('put writes a valid file as it is and prints the revision; the same text again writes nothing', async () => {
    const { url: at, key } = url();
    const text = httpConfig(0);
    const file = await configFile('good.yaml', text);
    const put = await runGw(['proxy', 'config', 'put', at, file]);
    assert.equal(put.code, 0, put.stderr);
    const [kv] = (await client.get(key).exec()).kvs;
    assert.ok(kv !== undefined);
    assert.equal(kv.value.toString(), text);
    const rev = kv.mod_revision;
    assert.equal(put.stdout, `put ${at}: etcd rev ${rev}\n`);
    const again = await runGw(['proxy', 'config', 'put', at, file]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      again.stdout,
      `${at} already holds this config (etcd rev ${rev}); nothing written\n`,
    );
    assert.equal((await client.get(key).exec()).kvs[0]?.mod_revision, rev);
  });

  it('get prints the stored text on stdout and its revision on stderr; a missing key exits 2', async () => {
    const { url: at, key } = url();
    const text = httpConfig(0);
    const rev = (await client.put(key).value(text).exec()).header.revision;
    const get = await runGw(['proxy', 'config', 'get', at]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, text);
    assert.equal(get.stderr, `${at}: etcd rev ${rev}\n`);
    const missing = await runGw(['proxy', 'config', 'get', url().url]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /\[GW_ERR_CONFIG_NOT_FOUND\]; publish one with gw proxy config put/,
    );
  });

  it('--check --config etcd://… validates the stored config: the routing table, or every issue and exit 2', async () => {
    const { url: at, key } = url();
    const rev = (await client.put(key).value(httpConfig(0)).exec()).header.revision;
    const ok = await runGw(['proxy', '--config', at, '--check']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`127\\.0\\.0\\.1:${backends[0]?.port}`));
    assert.ok(ok.stdout.endsWith(`${at}: config OK (etcd rev ${rev})\n`), ok.stdout);
    await client.put(key).value(httpConfig(0).replace('127.0.0.1:0', '127.0.0.1:70000')).exec();
    const bad = await runGw(['proxy', '--config', at, '--check']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /\[GW_ERR_CONFIG\]/);
    assert.ok(
      bad.stderr.includes(`${at}:5:13: listeners[0].listen: port out of range`),
      bad.stderr,
    );
  });

  it('exits 1 with GW_ERR_CONFIG_UNREACHABLE when etcd does not answer, and 2 for a malformed URL', async () => {
    const dead = `etcd://127.0.0.1:${await freePort()}/gw/config`;
    const check = await runGw(['proxy', '--config', dead, '--check']);
    assert.equal(check.code, 1);
    assert.match(check.stderr, /GW_ERR_CONFIG_UNREACHABLE/);
    const file = await configFile('unsent.yaml', httpConfig(0));
    const put = await runGw(['proxy', 'config', 'put', dead, file]);
    assert.equal(put.code, 1);
    assert.match(put.stderr, /GW_ERR_CONFIG_UNREACHABLE/);
    const malformed = await runGw(['proxy', 'config', 'put', 'etcd://127.0.0.1/gw', file]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /GW_ERR_INVALID_ARGUMENT/);
  });

  it('gw proxy --config etcd://… serves the stored config and follows the key: a bad revision is skipped, a good one applied', async () => {
    const { url: at, key } = url();
    const port = await freePort();
    const rev = (await client.put(key).value(httpConfig(port)).exec()).header.revision;
    const proc = new GwProcess(['proxy', '--config', at, '--quiet']);
    processes.push(proc);
    await proc.waitForLine((l) => l.startsWith(`config etcd rev ${rev} from ${at}`));
    await proc.waitForLine((l) => l.startsWith('listener web (http) on'));
    const res = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-backend'), backends[0]?.name);
    await res.text();
    // A bad revision: logged with the field's path; the running config keeps serving.
    const bad = httpConfig(port).replace('upstream: app', 'upstream: nowhere');
    const badRev = (await client.put(key).value(bad).exec()).header.revision;
    const rejected = await proc.waitForLine((l) =>
      l.startsWith(`config rejected (etcd rev ${badRev})`),
    );
    assert.match(rejected, /routes\[0\]\.upstream/);
    assert.match(rejected, new RegExp(`still serving etcd rev ${rev}$`));
    const still = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(still.status, 200);
    await still.text();
    // A good one, with a route that only it has: applied without a restart.
    const good = httpConfig(port).replace(
      'routes: [{ upstream: app }]',
      'routes: [{ match: { pathPrefix: /v2 }, upstream: app }]',
    );
    const goodRev = (await client.put(key).value(good).exec()).header.revision;
    await proc.waitForLine((l) => l.startsWith(`config reloaded: etcd rev ${goodRev}`));
    const gone = await fetch(`http://127.0.0.1:${port}/hello`);
    assert.equal(gone.status, 404);
    await gone.text();
    const v2 = await fetch(`http://127.0.0.1:${port}/v2/hello`);
    assert.equal(v2.status, 200);
    await v2.text();
    const { code } = await proc.stop('SIGTERM');
    assert.equal(code, 0);
  });
});
