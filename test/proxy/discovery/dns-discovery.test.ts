import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { startBackend } from '../../../src/backend/start-backend.js';
import {
  failures,
  freePort,
  startDnsmasq,
  startLoad,
  waitFor,
  type TestDns,
} from '../../helpers/discovery.js';
import { startBackends, startTestGateway, type TestGateway } from '../../helpers/proxy.js';

const ids = (gw: TestGateway, upstream: string) =>
  (gw.gateway.registry.state(upstream)?.targets.map((t) => t.id) ?? []).sort();

describe('DNS discovery against a real dnsmasq', () => {
  let port: number;
  let loopback: RunningBackend[];
  let srvBackends: RunningBackend[];
  let dns: TestDns;
  let gw: TestGateway;

  before(async () => {
    // Three backends on one port at three loopback addresses: A records carry no port.
    port = await freePort();
    loopback = [];
    for (const [i, host] of ['127.0.0.1', '127.0.0.2', '127.0.0.3'].entries()) {
      loopback.push(await startBackend('http', { host, port, name: `a-${i + 1}` }));
    }
    srvBackends = await startBackends('http', 's', 3);
    const srv = (i: number) => `_api._tcp.test,s${i}.test,${srvBackends[i - 1]?.port ?? 0},0,${i}`;
    dns = await startDnsmasq(
      [
        '127.0.0.1 api.test',
        '127.0.0.2 api.test',
        '127.0.0.1 s1.test',
        '127.0.0.1 s2.test',
        '127.0.0.1 s3.test',
      ],
      [srv(1), srv(2)],
      // Answers live 1 s: the A-record upstream below asks every 60 s, so only the TTL
      // can make it see a change within the test.
      ['--local-ttl=1'],
    );
    gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ match: { pathPrefix: /srv }, upstream: srv }, { upstream: a }] }
upstreams:
  - { name: a, discovery: { type: dns, name: api.test, recordType: A, port: ${port}, intervalMs: 60000, server: "${dns.server}" } }
  - { name: srv, discovery: { type: dns, name: _api._tcp.test, intervalMs: 300, server: "${dns.server}" } }
`);
  });

  after(async () => {
    await gw.close();
    await dns.close();
    await Promise.all([...loopback, ...srvBackends].map((b) => b.close()));
  });

  it('resolves A records on the configured port, and SRV records with their ports and weights', () => {
    assert.deepEqual(ids(gw, 'a'), [`127.0.0.1:${port}`, `127.0.0.2:${port}`]);
    const srv = gw.gateway.registry.state('srv')?.targets ?? [];
    assert.deepEqual(
      srv.map((t) => `${t.id}*${t.weight}`).sort(),
      [`127.0.0.1:${srvBackends[0]?.port}*1`, `127.0.0.1:${srvBackends[1]?.port}*2`].sort(),
    );
  });

  it('sees a changed A record within its TTL (sooner than intervalMs), under load with no failures', async () => {
    const load = startLoad(gw.port('web'));
    await waitFor(() => load.samples.length > 50, 5000, 'load to run');
    await dns.setHosts([
      '127.0.0.2 api.test',
      '127.0.0.3 api.test',
      '127.0.0.1 s1.test',
      '127.0.0.1 s2.test',
      '127.0.0.1 s3.test',
    ]);
    await waitFor(
      () => load.samples.some((s) => s.backend === 'a-3'),
      4000,
      'the new address to get traffic',
    );
    await load.stop();
    assert.deepEqual(ids(gw, 'a'), [`127.0.0.2:${port}`, `127.0.0.3:${port}`]);
    assert.deepEqual(failures(load.samples), []);
    assert.ok(
      gw.log.some((l) =>
        l.includes(
          `upstream a: 2 targets from dns api.test A (+127.0.0.3:${port}, -127.0.0.1:${port})`,
        ),
      ),
      gw.log.join('\n'),
    );
  });

  it('keeps the last good answer while the server is down, logs it once, and follows it when back', async () => {
    const before = gw.log.length;
    await dns.stop();
    await waitFor(
      () =>
        gw.log
          .slice(before)
          .some((l) => l.includes('upstream srv: dns _api._tcp.test SRV: lookup failed')),
      5000,
      'the failure to be logged',
    );
    await new Promise((r) => setTimeout(r, 1000)); // several more failed rounds
    const failed = gw.log
      .slice(before)
      .filter((l) => l.includes('upstream srv') && l.includes('lookup failed'));
    assert.equal(failed.length, 1, failed.join('\n'));
    assert.match(failed[0] ?? '', /keeping the last good answer \(2 targets\)/);
    assert.equal(ids(gw, 'srv').length, 2);
    const res = await fetch(`http://127.0.0.1:${gw.port('web')}/srv`);
    assert.equal(res.status, 200);
    await res.text();
    // Back with other SRV records: s3 in, s1 out.
    const srv = (i: number) => `_api._tcp.test,s${i}.test,${srvBackends[i - 1]?.port ?? 0},0,1`;
    await dns.setSrv([srv(2), srv(3)]);
    await waitFor(
      () => ids(gw, 'srv').includes(`127.0.0.1:${srvBackends[2]?.port}`),
      3000,
      'the new SRV set',
    );
    assert.deepEqual(
      ids(gw, 'srv'),
      [`127.0.0.1:${srvBackends[1]?.port}`, `127.0.0.1:${srvBackends[2]?.port}`].sort(),
    );
    assert.ok(
      gw.log
        .slice(before)
        .some((l) => l.includes('upstream srv: dns _api._tcp.test SRV: answering again')),
    );
  });
});
