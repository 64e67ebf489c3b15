import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { GwProcess, runGw } from '../helpers/cli.js';

const started: GwProcess[] = [];
after(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('gw demo suggestions', () => {
  it('suggests a real WebSocket client for ws, and that line works', async () => {
    let base = 0;
    for (let i = 0; i < 20 && base === 0; i++) {
      const candidate = 20000 + Math.floor(Math.random() * 40000);
      const free = await Promise.all([0, 1, 2].map((d) => portIsFree(candidate + d)));
      if (free.every(Boolean)) base = candidate;
    }
    const demo = new GwProcess(['demo', '--base-port', `${base}`]);
    started.push(demo);
    await demo.waitForLine((l) => l.startsWith('Access log'), 20_000);
    // curl cannot speak WebSocket: it printed raw frame bytes and ended with exit 28.
    assert.ok(!demo.lines.some((l) => /curl .*Upgrade: websocket/.test(l)), demo.lines.join('\n'));
    const suggestion = demo.lines.find((l) => /demo call ws\b/.test(l));
    assert.ok(suggestion, demo.lines.join('\n'));
    // `gw demo call ws ...` or `npx gw demo call ws ...`: run it from `demo` on.
    const words = suggestion.replace(/#.*/, '').trim().split(/\s+/);
    const args = words.slice(words.indexOf('demo'));
    const call = await runGw(args);
    assert.equal(call.code, 0, call.stderr);
    assert.ok(call.stdout.trim().length > 0);
    const { code } = await demo.stop('SIGINT');
    assert.equal(code, 0);
  });
});
