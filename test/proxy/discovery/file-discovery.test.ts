import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { failures, startLoad, waitFor } from '../../helpers/discovery.js';
import { startBackends, startTestGateway, type TestGateway } from '../../helpers/proxy.js';

describe('file discovery through the gateway', () => {
  let dir: string;
  let backends: RunningBackend[];
  let gw: TestGateway;
  let file: string;
  const addr = (i: number) => `127.0.0.1:${backends[i]?.port ?? 0}`;
  const write = (text: string) => {
    // Written aside and renamed in, as editors and config tools do: never half a file.
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-file-disc-'));
    file = join(dir, 'targets.yaml');
    backends = await startBackends('http', 'f', 3);
    write(`- ${addr(0)}\n- ${addr(1)}\n`);
    gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ upstream: api }] }
upstreams:
  - { name: api, discovery: { type: file, path: ${file} } }
`);
  });

  after(async () => {
    await gw.close();
    await Promise.all(backends.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts with the file's targets and logs them once", () => {
    const state = gw.gateway.registry.state('api');
    assert.deepEqual(state?.targets.map((t) => t.id).sort(), [addr(0), addr(1)].sort());
    const lines = gw.log.filter((l) => l.startsWith('upstream api: 2 targets'));
    assert.equal(lines.length, 1, gw.log.join('\n'));
    assert.match(
      lines[0] ?? '',
      /from file .*targets\.yaml \(\+127\.0\.0\.1:\d+, \+127\.0\.0\.1:\d+\)/,
    );
  });

  it('applies a change within one second under load, with no failed requests', async () => {
    const load = startLoad(gw.port('web'));
    await waitFor(() => load.samples.length > 50, 5000, 'load to run');
    const changedAt = performance.now();
    write(`- ${addr(1)}\n- { address: ${addr(2)}, weight: 2 }\n`);
    const took = await waitFor(
      () => load.samples.some((s) => s.backend === 'f-3'),
      2000,
      'the new target to get traffic',
    );
    await new Promise((r) => setTimeout(r, 1200));
    await load.stop();
    assert.ok(took < 1000, `applied after ${took} ms`);
    assert.deepEqual(failures(load.samples), []);
    // Nothing started a second after the change went to the removed target.
    const late = load.samples.filter((s) => s.startMs > changedAt + 1000);
    assert.ok(late.length > 20);
    assert.deepEqual(
      late.filter((s) => s.backend === 'f-1'),
      [],
    );
    assert.ok(
      gw.log.some((l) => /upstream api: 2 targets from file .*\(.*\+127.*-127/.test(l)),
      gw.log.join('\n'),
    );
  });

  it('keeps the last good list when the file turns invalid, logging the place once', async () => {
    const before = gw.log.length;
    write(`- ${addr(1)}\n- { address: 127.0.0.1:99999 }\n`);
    await waitFor(
      () => gw.log.slice(before).some((l) => l.includes('invalid target list')),
      2000,
      'the problem to be logged',
    );
    await new Promise((r) => setTimeout(r, 1100)); // a few polls: still one line
    const problems = gw.log.slice(before).filter((l) => l.includes('invalid target list'));
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0] ?? '',
      /targets\.yaml:2:14: \[1\]\.address: .*keeping the last good list \(2 targets\)/,
    );
    assert.deepEqual(
      gw.gateway.registry
        .state('api')
        ?.targets.map((t) => t.id)
        .sort(),
      [addr(1), addr(2)].sort(),
    );
  });

  it('an empty list answers 503 GW_ERR_NO_TARGET and says why; a new list serves again', async () => {
    write('[]\n');
    await waitFor(() => gw.gateway.registry.state('api')?.targets.length === 0, 2000, 'no targets');
    const res = await fetch(`http://127.0.0.1:${gw.port('web')}/`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('x-gw-error'), 'GW_ERR_NO_TARGET');
    await res.text();
    assert.ok(
      gw.log.some((l) =>
        /upstream api: 0 targets from file .*requests get 503 GW_ERR_NO_TARGET/.test(l),
      ),
      gw.log.join('\n'),
    );
    write(`- ${addr(0)}\n`);
    await waitFor(() => gw.gateway.registry.state('api')?.targets.length === 1, 2000, 'a target');
    assert.equal(
      (await fetch(`http://127.0.0.1:${gw.port('web')}/`)).headers.get('x-backend'),
      'f-1',
    );
  });

  it("keeps the source (and its targets' objects) across a reload with the same settings", async () => {
    const state = gw.gateway.registry.state('api');
    const target = state?.targets[0];
    await gw.gateway.swap(gw.gateway.ref.current.config);
    assert.equal(state?.targets[0], target);
    // Still watched: a change after the reload applies.
    write(`- ${addr(2)}\n`);
    await waitFor(() => state?.targets[0]?.id === addr(2), 2000, 'the change after the reload');
  });
});
