import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { COMMANDS, PATH_NOTE } from '../../src/cli/commands.js';
import { runGw } from '../helpers/cli.js';

describe('gw (top level)', () => {
  it('lists every command with its purpose and an example', async () => {
    const { code, stdout } = await runGw(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /tcp-echo\s+framed echo server and client/);
    assert.match(stdout, /e\.g\. gw tcp-echo server/);
  });

  it('prints help on stderr and exits 2 when run with no command, as its command groups do', async () => {
    const { code, stdout, stderr } = await runGw([]);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /Usage: gw <command>/);
  });

  it('shows a command’s help with examples through gw help <command>', async () => {
    const { code, stdout } = await runGw(['help', 'tcp-echo']);
    assert.equal(code, 0);
    assert.match(stdout, /Examples:/);
  });

  it('ends gw’s help and every command’s, once, with how to run gw from a clone (npx gw)', async () => {
    const helps = [
      ['--help'],
      ...COMMANDS.map((c) => [c.name, '--help']),
      ['tcp-echo', 'server', '--help'],
      ['backend', 'http', '--help'],
      ['demo', 'call', '--help'],
    ];
    for (const args of helps) {
      const { code, stdout } = await runGw(args);
      assert.equal(code, 0, args.join(' '));
      assert.equal(stdout.split(PATH_NOTE).length, 2, `gw ${args.join(' ')}:\n${stdout}`);
      assert.match(PATH_NOTE, /npx gw/);
    }
  });

  it('rejects an unknown command with exit 2 and one line naming the known ones', async () => {
    const { code, stderr } = await runGw(['frobnicate']);
    assert.equal(code, 2);
    assert.match(stderr, /GW_ERR_USAGE/);
    assert.match(stderr, /tcp-echo/);
    assert.equal(stderr.trim().split('\n').length, 1);
  });

  it('prints its version', async () => {
    const { code, stdout } = await runGw(['--version']);
    assert.equal(code, 0);
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('runs node without the memory reducer when started as `gw` (its #! line)', async () => {
    // The flag is only visible from inside: a preload prints the process's node flags.
    const dir = await mkdtemp(join(tmpdir(), 'gw-shebang-'));
    const probe = join(dir, 'print-flags.cjs');
    await writeFile(probe, 'process.stderr.write(JSON.stringify(process.execArgv) + "\\n");\n');
    try {
      const { stderr } = await promisify(execFile)(
        join(import.meta.dirname, '../../bin/gw.js'),
        ['--version'],
        {
          env: { ...process.env, NODE_OPTIONS: `--require ${probe}` },
        },
      );
      assert.deepEqual(JSON.parse(stderr.trim()), ['--no-memory-reducer']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
