/**
 * gw explain against tshark on the same large captures, side by side.
 *
 *   npm run build && node --import tsx bench/explain.ts [--dir /tmp/gw-explain-big] [--rounds 3]
 *
 * Uses big-300000.pcap (and its tcpdump -nn text rendering) and big-1000000.pcap
 * from fixtures/captures/make-big.sh, which it runs when they are missing (root,
 * network namespaces). Measures, interleaving gw and tshark in every round:
 *   - throughput: `gw explain --json FILE > /dev/null` against
 *     `tshark -r FILE -T fields -e frame.number -e tcp.analysis.flags -e tcp.seq -e tcp.ack`
 *     (TCP sequence analysis on, as by default), packets/s and the ratio (goal: gw ≥ 3×);
 *   - text input: the same capture as tcpdump text, packets/s;
 *   - memory: peak RSS of gw on the 1,000,000-packet capture (goal < 200 MB).
 * Wall time and peak RSS come from GNU time (`/usr/bin/time -f '%e %M'`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './lib/median.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = `${ROOT}bin/gw.js`;

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

const dir = flag('--dir', '/tmp/gw-explain-big');
const rounds = Number(flag('--rounds', '3'));
const small = `${dir}/big-300000.pcap`;
const text = `${dir}/big-300000.tcpdump-nn.txt`;
const large = `${dir}/big-1000000.pcap`;

interface Run {
  seconds: number;
  rssMb: number;
}

/** Runs a command with its output thrown away; wall seconds and peak RSS from GNU time. */
function timed(command: string, args: readonly string[]): Run {
  const result = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const last = result.stderr.trim().split('\n').pop() ?? '';
  const [seconds = 'NaN', kb = 'NaN'] = last.split(' ');
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr.slice(-500)}`);
  return { seconds: Number(seconds), rssMb: Number(kb) / 1024 };
}

function packetsIn(file: string): number {
  const out = spawnSync('capinfos', ['-M', '-c', '-r', file], { encoding: 'utf8' });
  const n = Number(/\t(\d+)/.exec(out.stdout)?.[1] ?? NaN);
  return Number.isFinite(n) ? n : Number(/(\d+)$/m.exec(out.stdout)?.[1] ?? NaN);
}

function main(): void {
  if (!existsSync(`${ROOT}dist/cli/main.js`)) throw new Error('run npm run build first');
  if (![small, text, large].every(existsSync)) {
    process.stdout.write(`making big captures in ${dir} (fixtures/captures/make-big.sh)...\n`);
    const made = spawnSync('bash', [`${ROOT}fixtures/captures/make-big.sh`, dir], {
      stdio: 'inherit',
    });
    if (made.status !== 0) throw new Error('make-big.sh failed');
  }
  const packets = packetsIn(small);
  const tsharkArgs = [
    '-r',
    small,
    '-T',
    'fields',
    '-e',
    'frame.number',
    '-e',
    'tcp.analysis.flags',
    '-e',
    'tcp.seq',
    '-e',
    'tcp.ack',
  ];
  const gw: Run[] = [];
  const tshark: Run[] = [];
  const gwText: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['gw', 'tshark', 'text'] : ['tshark', 'text', 'gw'];
    for (const which of order) {
      if (which === 'gw') gw.push(timed(process.execPath, [BIN, 'explain', '--json', small]));
      if (which === 'tshark') tshark.push(timed('tshark', tsharkArgs));
      if (which === 'text') gwText.push(timed(process.execPath, [BIN, 'explain', '--json', text]));
    }
    process.stdout.write('.');
  }
  const big = timed(process.execPath, [BIN, 'explain', '--json', large]);
  const gwS = median(gw.map((r) => r.seconds));
  const tsharkS = median(tshark.map((r) => r.seconds));
  const textS = median(gwText.map((r) => r.seconds));
  const rows = [
    ['gw explain --json (pcap)', gwS, packets / gwS, median(gw.map((r) => r.rssMb))],
    [
      'tshark -T fields (analysis on)',
      tsharkS,
      packets / tsharkS,
      median(tshark.map((r) => r.rssMb)),
    ],
    [
      'gw explain --json (tcpdump -nn text)',
      textS,
      packets / textS,
      median(gwText.map((r) => r.rssMb)),
    ],
  ] as const;
  process.stdout.write(
    `\n\nexplain: ${packets} packets (${small}), median of ${rounds} interleaved rounds\n`,
  );
  for (const [name, s, rate, rss] of rows) {
    process.stdout.write(
      `  ${name.padEnd(38)} ${s.toFixed(2).padStart(7)} s  ${Math.round(rate).toLocaleString('en-US').padStart(10)} packets/s  peak RSS ${rss.toFixed(0)} MB\n`,
    );
  }
  const ratio = tsharkS / gwS;
  process.stdout.write(
    `  gw vs tshark: ${ratio.toFixed(2)}x as fast (goal >= 3x): ${ratio >= 3 ? 'PASS' : 'MISS'}\n`,
  );
  process.stdout.write(
    `  1,000,000 packets: ${big.seconds.toFixed(2)} s, peak RSS ${big.rssMb.toFixed(0)} MB (goal < 200 MB): ${big.rssMb < 200 ? 'PASS' : 'MISS'}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: 'explain', packets, rounds, gwSeconds: gwS, tsharkSeconds: tsharkS, textSeconds: textS, ratio, bigSeconds: big.seconds, bigRssMb: big.rssMb })}\n`,
  );
}

main();
