import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runGw } from '../../helpers/cli.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { gwCommand } from '../../../src/proxy/demo/demo-text.js';

/** The ports of each `npx gw backend KIND --port $p` line of the printed header, by kind. */
function commandPorts(text: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const m of text.matchAll(
    /^# +i=0; for p in ([\d ]+); do .*npx gw backend (\w+) --port \$p/gm,
  )) {
    out[m[2] ?? '?'] = (m[1] ?? '').trim().split(' ').map(Number);
  }
  return out;
}

describe('gw demo --print-config', () => {
  it('points each protocol at its own backends, the ones its header starts', async () => {
    const { code, stdout, stderr } = await runGw([
      'demo',
      '--print-config',
      '--base-port',
      '18080',
    ]);
    assert.equal(code, 0, stderr);
    const config = parseConfigText(stdout, 'printed.yaml');
    const ports = (name: string): number[] =>
      config.upstreams.get(name)?.targets.map((t) => t.address.port) ?? [];
    const started = commandPorts(stdout);
    assert.deepEqual(Object.keys(started).sort(), ['grpc', 'http', 'tcp', 'ws']);
    assert.deepEqual(ports('api'), started.http);
    assert.deepEqual(ports('ws'), started.ws);
    assert.deepEqual(ports('echo'), started.grpc);
    assert.deepEqual(ports('tcp-echo'), started.tcp);
    const all = Object.values(started).flat();
    assert.equal(new Set(all).size, 12, 'no two backends share a port');
    assert.match(stdout, /^# +npx gw proxy --config gw\.yaml$/m);
    assert.match(stdout, /npx gw demo call grpc --base-port 18080/);
    assert.match(stdout, /--banner/, 'the tcp backends greet, as the demo probe expects');
  });
});

describe('gwCommand: how the demo tells the user to run gw', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function fixture(): Promise<{ dir: string; script: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'gw-path-'));
    dirs.push(dir);
    const script = join(dir, 'gw.js');
    await writeFile(script, '#!/usr/bin/env node\n');
    await chmod(script, 0o755);
    return { dir, script };
  }

  it('says npx gw when no gw is on the PATH', async () => {
    const { dir, script } = await fixture();
    assert.equal(gwCommand(join(dir, 'empty'), script), 'npx gw');
  });

  it('says gw when the gw on the PATH is this program (npm link)', async () => {
    const { dir, script } = await fixture();
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink(script, join(bin, 'gw'));
    assert.equal(gwCommand(bin, script), 'gw');
  });

  it("ignores npm's node_modules/.bin and a different gw", async () => {
    const { dir, script } = await fixture();
    const npmBin = join(dir, 'node_modules', '.bin');
    await mkdir(npmBin, { recursive: true });
    await symlink(script, join(npmBin, 'gw'));
    assert.equal(gwCommand(npmBin, script), 'npx gw');
    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'gw'), '#!/bin/sh\n');
    await chmod(join(other, 'gw'), 0o755);
    assert.equal(gwCommand(other, script), 'npx gw');
  });
});

describe('gw demo: the rate-limited route', () => {
  it('answers two requests a second per client and refuses the third with 429 and its headers', async () => {
    const { startBackends, startTestGateway, targets } = await import('../../helpers/proxy.js');
    const { demoConfigYaml, demoPorts } = await import('../../../src/proxy/demo/demo-config.js');
    const http = await startBackends('http', 'api', 3);
    const none = [{ port: 9 }, { port: 10 }, { port: 11 }];
    const yaml = demoConfigYaml(demoPorts(0), { http, ws: none, grpc: none, tcp: none })
      .replace(/listen: 127\.0\.0\.1:\d+/g, 'listen: 127.0.0.1:0')
      .replace(/, healthCheck: \{[^}]*\}/g, '')
      .replace(/\n {4}healthCheck: \{[^}]*\}/g, '');
    assert.ok(targets(http).length > 0);
    const gw = await startTestGateway(yaml);
    try {
      const url = `http://127.0.0.1:${gw.port('web')}/limited/`;
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let i = 0; i < 3; i++) {
        const res = await fetch(url);
        await res.arrayBuffer();
        statuses.push(res.status);
        if (res.status === 429) refused = res;
      }
      assert.deepEqual(statuses, [200, 200, 429]);
      const headers = refused?.headers ?? new Headers();
      assert.equal(headers.get('x-gw-error'), 'GW_ERR_RATE_LIMITED');
      assert.ok(headers.get('retry-after'));
      assert.match(headers.get('ratelimit-policy') ?? '', /q=2/);
    } finally {
      await gw.close();
      await Promise.all(http.map((b) => b.close()));
    }
  });
});

describe('gw demo: the authenticated route', () => {
  it('answers 401 without the demo key and 200 with it, naming the consumer to the backend', async () => {
    const { startBackends, startTestGateway } = await import('../../helpers/proxy.js');
    const { demoConfigYaml, demoPorts, DEMO_API_KEY } =
      await import('../../../src/proxy/demo/demo-config.js');
    const http = await startBackends('http', 'api', 3);
    const none = [{ port: 9 }, { port: 10 }, { port: 11 }];
    const yaml = demoConfigYaml(demoPorts(0), { http, ws: none, grpc: none, tcp: none })
      .replace(/listen: 127\.0\.0\.1:\d+/g, 'listen: 127.0.0.1:0')
      .replace(/, healthCheck: \{[^}]*\}/g, '')
      .replace(/\n {4}healthCheck: \{[^}]*\}/g, '');
    const gw = await startTestGateway(yaml);
    try {
      const url = `http://127.0.0.1:${gw.port('web')}/private/`;
      const without = await fetch(url);
      await without.arrayBuffer();
      assert.equal(without.status, 401);
      assert.equal(without.headers.get('x-gw-error'), 'GW_ERR_UNAUTHENTICATED');
      const withKey = await fetch(url, { headers: { 'x-api-key': DEMO_API_KEY } });
      const echo = (await withKey.json()) as { headers: Record<string, string> };
      assert.equal(withKey.status, 200);
      assert.equal(echo.headers['x-gw-consumer'], 'demo');
      assert.ok(!yaml.includes(DEMO_API_KEY + '"'), 'the config keeps only the key digest');
    } finally {
      await gw.close();
      await Promise.all(http.map((b) => b.close()));
    }
  });
});
