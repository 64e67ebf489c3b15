import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Etcd3 } from 'etcd3';
import type { ConfigRevision } from '../../../src/proxy/config/config-source.js';
import { etcdConfigSource, isEtcdConfigSpec } from '../../../src/proxy/config/config-source-for.js';
import { EtcdConfigSource } from '../../../src/proxy/config/etcd-config-source.js';
import { parseEtcdConfigSpec } from '../../../src/proxy/config/etcd-config-spec.js';
import { etcdClient } from '../../../src/proxy/discovery/etcd-client.js';
import { ConfigError, GwError, isGwError } from '../../../src/shared/errors.js';
import { freePort, startEtcd, waitFor, type TestEtcd } from '../../helpers/discovery.js';

const TLS = fileURLToPath(new URL('../../../fixtures/configs/tls/', import.meta.url));

/** A valid config whose single target is 127.0.0.1:PORT (so revisions tell apart). */
function good(port: number): string {
  return `listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes: [{ upstream: api }]
upstreams:
  - name: api
    targets: [{ address: 127.0.0.1:${port} }]
`;
}

/** Line 4, column 13: the listen address's port is out of range. */
const BAD = good(9001).replace('127.0.0.1:0', '127.0.0.1:70000');

/** What a watch reported, in order. */
interface Reports {
  readonly events: string[];
  readonly revisions: ConfigRevision[];
  readonly errors: GwError[];
}

function follow(source: EtcdConfigSource): { reports: Reports; stop: () => void } {
  const reports: Reports = { events: [], revisions: [], errors: [] };
  const stop = source.watch({
    revision: (next) => {
      reports.revisions.push(next);
      reports.events.push(`revision ${next.revision} ${targetOf(next)}`);
    },
    invalid: (error, revision) => {
      reports.errors.push(error);
      reports.events.push(`invalid ${revision ?? '?'} ${error.code}`);
    },
  });
  return { reports, stop };
}

function targetOf(revision: ConfigRevision): string {
  return revision.config.upstreams.get('api')?.targets[0]?.id ?? '?';
}

describe('EtcdConfigSource against a real etcd', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  const log: string[] = [];
  let n = 0;
  /** A fresh key and a source for it, closed after the suite. */
  const sources: EtcdConfigSource[] = [];
  const fresh = (): { key: string; source: EtcdConfigSource } => {
    const key = `/gw/test-${++n}`;
    const spec = parseEtcdConfigSpec(`etcd://127.0.0.1:${etcd.port}${key}`);
    assert.ok(typeof spec !== 'string', typeof spec === 'string' ? spec : '');
    const source = new EtcdConfigSource(spec, { log: (line) => log.push(line) });
    sources.push(source);
    return { key, source };
  };
  const put = async (key: string, text: string): Promise<string> => {
    const res = await client.put(key).value(text).exec();
    return `etcd rev ${res.header.revision}`;
  };

  before(async () => {
    etcd = await startEtcd();
    client = etcdClient([etcd.endpoint]);
  });

  after(async () => {
    if (process.env.SHOW_LOG) console.log(log.join('\n'));
    await Promise.all(sources.map((s) => s.close()));
    client.close();
    await etcd.close();
  });

  it("loads the key's config and names the revision after the key's mod_revision", async () => {
    const { key, source } = fresh();
    const rev = await put(key, good(9001));
    await put('/gw/unrelated', 'x');
    const loaded = await source.load();
    assert.equal(loaded.revision, rev);
    assert.equal(targetOf(loaded), '127.0.0.1:9001');
    assert.equal(loaded.config.source, source.label);
  });

  it('reports a missing key as GW_ERR_CONFIG_NOT_FOUND (exit 2) with how to publish one', async () => {
    const { source } = fresh();
    await assert.rejects(source.load(), (err: unknown) => {
      assert.ok(isGwError(err, 'GW_ERR_CONFIG_NOT_FOUND'), String(err));
      assert.equal(err.exitCode, 2);
      assert.equal(err.hint, `publish one with gw proxy config put ${source.label} FILE`);
      return true;
    });
  });

  it('validates the text as a file is: every issue with its line, column and field path', async () => {
    const { key, source } = fresh();
    const missingCert = good(9001).replace(
      '    routes:',
      '    tls: { cert: no-such-cert.pem, key: no-such-key.pem }\n    routes:',
    );
    await put(key, missingCert.replace('127.0.0.1:0', '127.0.0.1:70000'));
    await assert.rejects(source.load(), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.exitCode, 2);
      assert.deepEqual(
        err.issues.map((i) => `${i.kind} ${i.path} ${i.line ?? '?'}:${i.column ?? '?'}`),
        ['invalid listeners[0].listen 4:13'],
      );
      assert.match(err.message, new RegExp(`${source.label}:4:13: listeners\\[0\\]\\.listen: `));
      return true;
    });
    // Valid otherwise: the TLS files are checked too.
    await put(key, missingCert);
    await assert.rejects(source.load(), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.deepEqual(
        err.issues.map((i) => `${i.kind} ${i.path}`),
        ['file listeners[0].tls.cert', 'file listeners[0].tls.key'],
      );
      assert.match(err.issues[0]?.allowed ?? '', /working directory/);
      return true;
    });
  });

  it("takes relative file paths from the process's working directory", async () => {
    const { key, source } = fresh();
    const cert = relative(process.cwd(), join(TLS, 'test-cert.pem'));
    const keyFile = relative(process.cwd(), join(TLS, 'test-key.pem'));
    await put(
      key,
      good(9001).replace('    routes:', `    tls: { cert: ${cert}, key: ${keyFile} }\n    routes:`),
    );
    const loaded = await source.load();
    const listener = loaded.config.listeners[0];
    assert.ok(listener?.protocol === 'http');
    assert.deepEqual(listener.tls, { cert, key: keyFile });
  });

  it('reports an unreachable etcd as GW_ERR_CONFIG_UNREACHABLE (exit 1), naming the endpoint', async () => {
    const dead = await freePort();
    const source = etcdConfigSource(`etcd://127.0.0.1:${dead}/gw/config`);
    try {
      await assert.rejects(source.load(), (err: unknown) => {
        assert.ok(isGwError(err, 'GW_ERR_CONFIG_UNREACHABLE'), String(err));
        assert.equal(err.exitCode, 1);
        assert.match(err.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${dead}`));
        assert.match(err.hint ?? '', new RegExp(`http://127\\.0\\.0\\.1:${dead}`));
        return true;
      });
    } finally {
      await source.close();
    }
  });

  it('reaches the config through another endpoint of the list when the others are down', async () => {
    const { key } = fresh();
    const rev = await put(key, good(9001));
    const dead = [await freePort(), await freePort(), await freePort()];
    const hosts = [...dead, etcd.port].map((p) => `127.0.0.1:${p}`).join(',');
    // Three tries: each goes through the hosts in another shuffled order.
    for (let i = 0; i < 3; i++) {
      const source = etcdConfigSource(`etcd://${hosts}${key}`);
      try {
        assert.equal((await source.load()).revision, rev);
      } finally {
        await source.close();
      }
    }
  });

  it('reports a bad revision with its field path, keeps watching, and delivers the next good one', async () => {
    const { key, source } = fresh();
    await put(key, good(9001));
    await source.load();
    const { reports, stop } = follow(source);
    try {
      const badRev = await put(key, BAD);
      await waitFor(() => reports.events.length >= 1, 5000, 'the bad revision to be reported');
      const error = reports.errors[0];
      assert.ok(error instanceof ConfigError, String(error));
      assert.deepEqual(
        error.issues.map((i) => `${i.path} ${i.line ?? '?'}:${i.column ?? '?'}`),
        ['listeners[0].listen 4:13'],
      );
      const goodRev = await put(key, good(9002));
      await waitFor(() => reports.events.length >= 2, 5000, 'the good revision');
      assert.deepEqual(reports.events, [
        `invalid ${badRev} GW_ERR_CONFIG`,
        `revision ${goodRev} 127.0.0.1:9002`,
      ]);
    } finally {
      stop();
    }
  });

  it('reports a deleted key as GW_ERR_CONFIG_NOT_FOUND, and a later put as a revision', async () => {
    const { key, source } = fresh();
    await put(key, good(9001));
    await source.load();
    const { reports, stop } = follow(source);
    try {
      const res = await client.delete().key(key).exec();
      const deletedAt = `etcd rev ${res.header.revision}`;
      await waitFor(() => reports.events.length >= 1, 5000, 'the delete to be reported');
      assert.match(reports.errors[0]?.message ?? '', /the key was deleted at etcd rev \d+/);
      const back = await put(key, good(9003));
      await waitFor(() => reports.events.length >= 2, 5000, 'the new value');
      assert.deepEqual(reports.events, [
        `invalid ${deletedAt} GW_ERR_CONFIG_NOT_FOUND`,
        `revision ${back} 127.0.0.1:9003`,
      ]);
    } finally {
      stop();
    }
  });

  it('watches anew from a fresh read when its start revision was compacted away', async () => {
    const { key, source } = fresh();
    await put(key, good(9001));
    await source.load();
    await put(key, good(9004));
    const latest = await put(key, good(9005));
    await client.kv.compact({ revision: latest.replace('etcd rev ', '') });
    const { reports, stop } = follow(source);
    try {
      const ended = `etcd ended the watch of ${key} (its start revision was compacted); reading the key again and watching anew`;
      await waitFor(() => log.includes(ended), 5000, 'the cancelled watch to be logged');
      await waitFor(() => reports.events.length >= 1, 5000, 'the current value after compaction');
      assert.deepEqual(reports.events, [`revision ${latest} 127.0.0.1:9005`]);
      // The new watch works.
      const next = await put(key, good(9006));
      await waitFor(() => reports.events.length >= 2, 5000, 'the next revision');
      assert.equal(reports.events[1], `revision ${next} 127.0.0.1:9006`);
    } finally {
      stop();
    }
  });

  it('survives an etcd restart: logs it once, then delivers the next revision', async () => {
    const { key, source } = fresh();
    await put(key, good(9001));
    await source.load();
    const { reports, stop } = follow(source);
    try {
      const before = log.length;
      await etcd.kill();
      await waitFor(
        () => log.slice(before).some((l) => l.includes('unreachable')),
        5000,
        'etcd down to be logged',
      );
      await new Promise((r) => setTimeout(r, 1000));
      await etcd.restart();
      await waitFor(
        () => log.slice(before).some((l) => l.includes('answers again')),
        10_000,
        'the watch to reconnect',
      );
      assert.equal(log.slice(before).filter((l) => l.includes('unreachable')).length, 1);
      assert.match(
        log.slice(before).find((l) => l.includes('unreachable')) ?? '',
        /^etcd etcd:\/\/.* unreachable \(.*\); keeping the current config; retrying$/,
      );
      const next = await put(key, good(9007));
      await waitFor(() => reports.events.length >= 1, 5000, 'the revision after the restart');
      assert.deepEqual(reports.events, [`revision ${next} 127.0.0.1:9007`]);
    } finally {
      stop();
    }
  });

  it('reports nothing after the watch is stopped or the source closed', async () => {
    const { key, source } = fresh();
    await put(key, good(9001));
    await source.load();
    const first = follow(source);
    const second = follow(source);
    await put(key, good(9008));
    await waitFor(
      () => first.reports.events.length === 1 && second.reports.events.length === 1,
      5000,
      'both watches to hear of it',
    );
    first.stop();
    await put(key, good(9009));
    await waitFor(() => second.reports.events.length === 2, 5000, 'the second watch');
    await source.close();
    await put(key, good(9010));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(first.reports.events.length, 1);
    assert.equal(second.reports.events.length, 2);
    await assert.rejects(source.load());
  });
});

describe('etcd config specs', () => {
  it('tells etcd URLs from file paths', () => {
    assert.equal(isEtcdConfigSpec('etcd://127.0.0.1:2379/gw/config'), true);
    assert.equal(isEtcdConfigSpec('gw.yaml'), false);
    assert.equal(isEtcdConfigSpec('./etcd/gw.yaml'), false);
  });

  it('parses one or several endpoints and keeps the key as written', () => {
    assert.deepEqual(parseEtcdConfigSpec('etcd://127.0.0.1:2379/gw/config'), {
      endpoints: ['http://127.0.0.1:2379'],
      key: '/gw/config',
      label: 'etcd://127.0.0.1:2379/gw/config',
    });
    assert.deepEqual(parseEtcdConfigSpec('etcd://h1:2379,[::1]:2380,h1:2379/a/b/'), {
      endpoints: ['http://h1:2379', 'http://[::1]:2380'],
      key: '/a/b/',
      label: 'etcd://h1:2379,[::1]:2380/a/b/',
    });
  });

  it('says what is wrong with a malformed one', () => {
    for (const spec of [
      'etcd://127.0.0.1:2379',
      'etcd://127.0.0.1:2379/',
      'etcd://127.0.0.1/gw',
      'etcd://h1:2379,/gw',
      'etcd:///gw',
      'etcd://h:0/gw',
      'etcd://h:2379/g w',
    ]) {
      assert.equal(typeof parseEtcdConfigSpec(spec), 'string', spec);
    }
    assert.throws(
      () => etcdConfigSource('etcd://127.0.0.1/gw'),
      (err: unknown) => isGwError(err, 'GW_ERR_INVALID_ARGUMENT') && err.exitCode === 2,
    );
  });
});
