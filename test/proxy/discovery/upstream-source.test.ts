import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import type { UpstreamConfig } from '../../../src/proxy/config/types.js';
import { DnsSource } from '../../../src/proxy/discovery/dns-source.js';
import { EtcdSource } from '../../../src/proxy/discovery/etcd-source.js';
import { FileSource } from '../../../src/proxy/discovery/file-source.js';
import {
  sourceFor,
  sourceKey,
  StaticSource,
} from '../../../src/proxy/discovery/upstream-source.js';
import { UpstreamState } from '../../../src/proxy/upstream/upstream-runtime.js';
import { waitFor } from '../../helpers/discovery.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-src-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function upstream(line: string): UpstreamConfig {
  const config = parseConfigText(
    `listeners: [{ name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ upstream: api }] }]
upstreams:
  - { name: api, ${line} }
`,
    join(dir, 'gw.yaml'),
  );
  const api = config.upstreams.get('api');
  assert.ok(api);
  return api;
}

describe('sourceFor and sourceKey', () => {
  it('picks the source the config names', () => {
    assert.ok(sourceFor(upstream('targets: [127.0.0.1:1]')) instanceof StaticSource);
    assert.ok(sourceFor(upstream('discovery: { type: file, path: a.yaml }')) instanceof FileSource);
    assert.ok(
      sourceFor(upstream('discovery: { type: dns, name: a.test, port: 80 }')) instanceof DnsSource,
    );
    assert.ok(
      sourceFor(
        upstream('discovery: { type: etcd, endpoints: [http://e:1], prefix: /p/ }'),
      ) instanceof EtcdSource,
    );
  });

  it('is the same for the same discovery settings only', () => {
    const a = upstream('discovery: { type: file, path: a.yaml }');
    assert.equal(sourceKey(a), sourceKey(upstream('discovery: { type: file, path: a.yaml }')));
    assert.notEqual(sourceKey(a), sourceKey(upstream('discovery: { type: file, path: b.yaml }')));
    assert.equal(sourceKey(upstream('targets: [127.0.0.1:1]')), 'static');
  });
});

describe('UpstreamState and its source across reloads', () => {
  it('keeps a source whose settings are unchanged, replaces one that changed, closes it on drain', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, '- 127.0.0.1:9001\n- 127.0.0.1:9002\n');
    writeFileSync(b, '- 127.0.0.1:9003\n');
    const log: string[] = [];
    const fromA = upstream('discovery: { type: file, path: a.yaml }');
    const state = new UpstreamState(fromA, (line) => log.push(line));
    void state.configure(fromA);
    await state.starting;
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9001', '127.0.0.1:9002'],
    );
    assert.equal(log.length, 1);
    const first = state.targets[0];

    // Same settings: no new source, no new log line, the same target objects.
    void state.configure(upstream('discovery: { type: file, path: a.yaml }'));
    await state.starting;
    assert.equal(state.targets[0], first);
    assert.equal(log.length, 1, log.join('\n'));

    // Another file: its targets replace the old ones, once its first answer came.
    void state.configure(upstream('discovery: { type: file, path: b.yaml }'));
    await state.starting;
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9003'],
    );
    assert.match(
      log.at(-1) ?? '',
      /1 target from file b\.yaml \(\+127\.0\.0\.1:9003, -127\.0\.0\.1:9001, -127\.0\.0\.1:9002\)/,
    );
    // The old source no longer reports.
    writeFileSync(a, '- 127.0.0.1:9009\n');
    await new Promise((r) => setTimeout(r, 700));
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9003'],
    );

    // Back to written targets.
    void state.configure(upstream('targets: [127.0.0.1:9004]'));
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9004'],
    );
    // And to a file again, then the upstream leaves the config: its source stops.
    void state.configure(fromA);
    await state.starting;
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9009'],
    );
    const lines = log.length;
    await state.drain();
    writeFileSync(a, '- 127.0.0.1:9010\n');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(log.length, lines, log.join('\n'));
  });

  it('applies a watched change as soon as the source reports it', async () => {
    const c = join(dir, 'c.yaml');
    writeFileSync(c, '- 127.0.0.1:9001\n');
    const config = upstream('discovery: { type: file, path: c.yaml }');
    const state = new UpstreamState(config);
    void state.configure(config);
    await state.starting;
    writeFileSync(c, '- { address: 127.0.0.1:9001, weight: 5 }\n- 127.0.0.1:9002\n');
    await waitFor(() => state.targets.length === 2, 1000, 'the change');
    assert.equal(state.targets[0]?.weight, 5);
    await state.close();
  });
});
