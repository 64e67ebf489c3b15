import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GwProcess, runGw } from '../helpers/cli.js';
import { freeBasePort } from '../helpers/sockets.js';

const started: GwProcess[] = [];
after(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
});

describe('gw demo suggestions', () => {
  it('suggests a real WebSocket client for ws, and that line works', async () => {
    const base = await freeBasePort();
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
