import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { attachOwners, scanOwners, type ProcFs } from '../../src/conns/process-map.js';
import { sock } from './helpers/make-socket.js';

function errno(code: string): Error {
  return Object.assign(new Error(code), { code });
}

/** A /proc with processes given as pid → fd → link target; functions stand for failing calls. */
function fakeProc(
  processes: Record<string, Record<string, string> | (() => never)>,
  comm: Record<string, string> = {},
): ProcFs & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    readdir(dir) {
      calls.push(`readdir ${dir}`);
      if (dir === '/proc') return [...Object.keys(processes), 'self', 'net', 'sys'];
      const pid = dir.split('/')[2] ?? '';
      const fds = processes[pid];
      if (fds === undefined) throw errno('ENOENT');
      if (typeof fds === 'function') return fds();
      return Object.keys(fds);
    },
    readlink(link) {
      const [, , pid = '', , fd = ''] = link.split('/');
      const target = (processes[pid] as Record<string, string> | undefined)?.[fd];
      if (target === undefined) throw errno('ENOENT');
      return target;
    },
    readFile(file) {
      const pid = file.split('/')[2] ?? '';
      const name = comm[pid];
      if (name === undefined) throw errno('ENOENT');
      return `${name}\n`;
    },
  };
}

describe('owning processes from /proc/PID/fd', () => {
  it('maps socket inodes to pid, command and fd, and lists every process sharing a socket', () => {
    const fs = fakeProc(
      {
        '10': { '0': '/dev/null', '3': 'socket:[111]', '4': 'socket:[222]' },
        '11': { '5': 'socket:[222]', '6': 'pipe:[9]' },
      },
      { '10': 'nginx', '11': 'nginx' },
    );
    const map = scanOwners({ fs });
    assert.deepEqual(map.owners.get(111), [{ pid: 10, process: 'nginx', fd: 3 }]);
    assert.deepEqual(map.owners.get(222), [
      { pid: 10, process: 'nginx', fd: 4 },
      { pid: 11, process: 'nginx', fd: 5 },
    ]);
    assert.equal(map.inspected, 2);
  });

  it('skips and counts processes it may not read and processes that exit mid-scan, without an error', () => {
    const fs = fakeProc(
      {
        '1': () => {
          throw errno('EACCES');
        },
        '2': () => {
          throw errno('ENOENT');
        },
        '3': { '7': 'socket:[333]' },
      },
      {},
    );
    const map = scanOwners({ fs });
    assert.deepEqual([map.denied, map.vanished, map.inspected], [1, 1, 1]);
    assert.deepEqual(
      map.owners.get(333),
      [{ pid: 3, process: '?', fd: 7 }],
      'a process whose comm vanished is still named by pid',
    );
  });

  it('shows control characters a process put in its own name as ?, as ps does', () => {
    const fs = fakeProc({ '7': { '3': 'socket:[70]' } }, { '7': 'ev\nil\u001b[31m\u009b' });
    assert.deepEqual(scanOwners({ fs }).owners.get(70), [
      { pid: 7, process: 'ev?il?[31m?', fd: 3 },
    ]);
  });

  it('stops scanning once every wanted inode is found', () => {
    const fs = fakeProc(
      { '1': { '3': 'socket:[1]' }, '2': { '3': 'socket:[2]' }, '3': { '3': 'socket:[3]' } },
      { '1': 'a', '2': 'b', '3': 'c' },
    );
    const map = scanOwners({ fs, wanted: new Set([1]) });
    assert.deepEqual([...map.owners.keys()], [1]);
    assert.ok(!fs.calls.includes('readdir /proc/2/fd'));
  });

  it('attaches owners to sockets by inode, leaving inode 0 (TIME_WAIT, orphans) and unknown ones without', () => {
    const fs = fakeProc({ '9': { '3': 'socket:[5]' } }, { '9': 'node' });
    const sockets = [
      sock('ESTABLISHED', '127.0.0.1:1', '127.0.0.1:2', { inode: 5 }),
      sock('TIME_WAIT', '127.0.0.1:3', '127.0.0.1:2', { inode: 0 }),
      sock('LISTEN', '127.0.0.1:2', '0.0.0.0:0', { inode: 6 }),
    ];
    attachOwners(sockets, scanOwners({ fs }));
    assert.deepEqual(
      sockets.map((s) => [s.pid, s.process]),
      [
        [9, 'node'],
        [undefined, undefined],
        [undefined, undefined],
      ],
    );
  });

  it('finds this very process and its socket in the real /proc', async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const map = scanOwners();
      const mine = [...map.owners.values()].flat().filter((o) => o.pid === process.pid);
      assert.ok(mine.length > 0, 'this process owns at least its listener');
      // The kernel's comm: the start of the thread's name (Node names its main thread after the
      // executable), at most 15 bytes.
      const comm = readFileSync(`/proc/${process.pid}/comm`, 'latin1').trimEnd();
      assert.ok(comm.length > 0);
      assert.ok(mine.every((o) => o.process === comm));
    } finally {
      server.close();
    }
  });
});
