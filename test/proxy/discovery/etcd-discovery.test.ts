import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { registerInEtcd, type Registration } from '../../../src/proxy/discovery/register.js';
import { GwProcess } from '../../helpers/cli.js';
import {
  failures,
  freePort,
  startEtcd,
  startLoad,
  waitFor,
  type TestEtcd,
} from '../../helpers/discovery.js';
import { startBackends, startTestGateway, type TestGateway } from '../../helpers/proxy.js';

const PREFIX = '/services/api/';

describe('etcd discovery against a real etcd', () => {
  let etcd: TestEtcd;
  let backends: RunningBackend[];
  let gw: TestGateway;
  const registrations = new Map<string, Registration>();
  const backendLog: string[] = [];
  const addr = (i: number) => `127.0.0.1:${backends[i]?.port ?? 0}`;
  const ids = () => (gw.gateway.registry.state('api')?.targets.map((t) => t.id) ?? []).sort();
  const register = async (i: number) => {
    const r = registerInEtcd({
      endpoint: etcd.endpoint,
      prefix: PREFIX,
      name: backends[i]?.name ?? '',
      address: addr(i),
      log: (line) => backendLog.push(line),
    });
    registrations.set(backends[i]?.name ?? '', r);
    await r.ready;
  };

  before(async () => {
    etcd = await startEtcd();
    backends = await startBackends('http', 'e', 3);
    await register(0);
    await register(1);
    gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ upstream: api }] }
upstreams:
  - { name: api, discovery: { type: etcd, endpoints: ["${etcd.endpoint}"], prefix: ${PREFIX} } }
`);
  });

  after(async () => {
    if (process.env.SHOW_LOG)
      console.log(gw.log.filter((l) => !l.includes(' GET /')).join('\n'), backendLog.join('\n'));
    await gw.close();
    await Promise.all([...registrations.values()].map((r) => r.close()));
    await Promise.all(backends.map((b) => b.close()));
    await etcd.close();
  });

  it('reads the registered targets before the gateway serves', () => {
    assert.deepEqual(ids(), [addr(0), addr(1)].sort());
    assert.ok(
      gw.log.some((l) => l.startsWith('upstream api: 2 targets from etcd')),
      gw.log.join('\n'),
    );
  });

  it('follows registration and deregistration under load: no failed requests, the new set within 1 s', async () => {
    const load = startLoad(gw.port('web'));
    await waitFor(() => load.samples.length > 50, 5000, 'load to run');
    const registeredAt = performance.now();
    await register(2);
    const joined = await waitFor(
      () => load.samples.some((s) => s.backend === 'e-3'),
      2000,
      'e-3 to get traffic',
    );
    const leftAt = performance.now();
    await registrations.get('e-1')?.close();
    registrations.delete('e-1');
    await waitFor(() => !ids().includes(addr(0)), 2000, 'e-1 to leave');
    await new Promise((r) => setTimeout(r, 1200));
    await load.stop();
    assert.ok(joined < 1000, `e-3 got traffic ${joined} ms after it registered`);
    assert.ok(performance.now() - registeredAt > 0);
    assert.deepEqual(failures(load.samples), []);
    const late = load.samples.filter((s) => s.startMs > leftAt + 1000);
    assert.ok(late.length > 20);
    assert.deepEqual(
      late.filter((s) => s.backend === 'e-1'),
      [],
    );
    assert.deepEqual(ids(), [addr(1), addr(2)].sort());
    assert.ok(
      gw.log.some(
        (l) => l.startsWith('upstream api: 3 targets from etcd') && l.includes(`(+${addr(2)})`),
      ),
      gw.log.join('\n'),
    );
    assert.ok(
      gw.log.some(
        (l) => l.startsWith('upstream api: 2 targets from etcd') && l.includes(`(-${addr(0)})`),
      ),
      gw.log.join('\n'),
    );
  });

  it('gw backend --register: in on start, out at once on SIGTERM, out at lease expiry on SIGKILL', async () => {
    const url = `etcd://127.0.0.1:${etcd.port}${PREFIX}`;
    const polite = new GwProcess([
      'backend',
      'http',
      '--port',
      '0',
      '--name',
      'polite',
      '--register',
      url,
    ]);
    const crashy = new GwProcess([
      'backend',
      'http',
      '--port',
      '0',
      '--name',
      'crashy',
      '--register',
      url,
    ]);
    try {
      await polite.waitForLine((l) => l.includes('registered /services/api/polite'));
      await crashy.waitForLine((l) => l.includes('registered /services/api/crashy'));
      await waitFor(() => ids().length === 4, 2000, 'both to join');
      await polite.stop('SIGTERM');
      const gone = await waitFor(() => ids().length === 3, 2000, 'polite to leave');
      assert.ok(gone < 1000, `left ${gone} ms after exit`);
      const crashyId = ids().find((id) => ![addr(1), addr(2)].includes(id));
      await crashy.stop('SIGKILL');
      const expired = await waitFor(() => ids().length === 2, 10_000, 'the lease to expire');
      // The lease is 5 s: gone no sooner than a little before that, no later than just after.
      assert.ok(expired > 2000 && expired < 8000, `crashy left ${expired} ms after SIGKILL`);
      assert.ok(
        gw.log.some((l) => l.includes(`(-${crashyId})`)),
        gw.log.join('\n'),
      );
    } finally {
      await polite.stop('SIGKILL');
      await crashy.stop('SIGKILL');
    }
  });

  it('keeps the last good list while etcd is down, logs it once, and resumes watching when it returns', async () => {
    const before = gw.log.length;
    await etcd.kill();
    await waitFor(
      () => gw.log.slice(before).some((l) => l.includes('unreachable')),
      5000,
      'etcd down to be logged',
    );
    const res = await fetch(`http://127.0.0.1:${gw.port('web')}/`);
    assert.equal(res.status, 200);
    await res.text();
    assert.deepEqual(ids(), [addr(1), addr(2)].sort());
    await new Promise((r) => setTimeout(r, 1000));
    const down = gw.log.slice(before).filter((l) => l.includes('unreachable'));
    assert.equal(down.length, 1, down.join('\n'));
    assert.match(
      down[0] ?? '',
      /upstream api: etcd .*: unreachable .*keeping the last good list \(2 targets\)/,
    );
    await etcd.restart();
    await waitFor(
      () => gw.log.slice(before).some((l) => l.includes('reachable again')),
      5000,
      'etcd back to be logged',
    );
    // Watching again: a change after the restart applies.
    await register(0);
    await waitFor(() => ids().length === 3, 3000, 'e-1 to join after the restart');
    assert.deepEqual(ids(), [addr(0), addr(1), addr(2)].sort());
  });
});

describe('etcd discovery with no etcd at start', () => {
  it('starts within the bounded wait, answers 503 GW_ERR_NO_TARGET and says why', async () => {
    const port = await freePort();
    const started = performance.now();
    const gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ upstream: api }] }
upstreams:
  - { name: api, discovery: { type: etcd, endpoints: ["http://127.0.0.1:${port}"], prefix: /x/ } }
`);
    try {
      const took = performance.now() - started;
      assert.ok(took >= 2500 && took < 5000, `started after ${took} ms`);
      const res = await fetch(`http://127.0.0.1:${gw.port('web')}/`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('x-gw-error'), 'GW_ERR_NO_TARGET');
      await res.text();
      assert.ok(
        gw.log.some((l) =>
          l.includes(
            `upstream api: no answer from etcd http://127.0.0.1:${port} /x/ within 3000 ms; requests get 503 GW_ERR_NO_TARGET until it answers`,
          ),
        ),
        gw.log.join('\n'),
      );
      assert.ok(
        gw.log.some((l) => l.includes('unreachable')),
        gw.log.join('\n'),
      );
    } finally {
      await gw.close();
    }
  });
});
