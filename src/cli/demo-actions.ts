import { DEFAULT_BASE_PORT, demoPorts, printedConfig } from '../proxy/demo/demo-config.js';
import { gwCommand, tryLines } from '../proxy/demo/demo-text.js';
import { BACKEND_KINDS } from '../backend/backend-options.js';
import type { ProbeKind } from '../proxy/demo/probe.js';
import { probeMany, startDemo, type Demo } from '../proxy/demo/run-demo.js';
import { BatchedWriter } from '../shared/batched-writer.js';
import { invalidArgument } from '../shared/errors.js';
import { positiveInt } from '../net/framing/spec.js';
import { untilSignal } from './commander-setup.js';
import { parsePort } from './parse-port.js';
import type { CallFlags, DemoFlags } from './demo.js';

const HOST = '127.0.0.1';

/** The first of the three ports the demo listens on (the next two follow it). */
function basePort(value: string | undefined): number {
  return value === undefined ? DEFAULT_BASE_PORT : parsePort('--base-port', value, { max: 65533 });
}

/** `gw demo`: start everything, show balancing once, print what to try, serve until Ctrl-C. */
export async function runDemo(flags: DemoFlags): Promise<void> {
  const base = basePort(flags.basePort);
  const gw = gwCommand();
  if (flags.printConfig === true) {
    process.stdout.write(printedConfig(base, gw));
    return;
  }
  const log = new BatchedWriter((text) => process.stdout.write(text));
  // Off while the demo probes itself (those lines are not news); on from the banner's end.
  let logging = false;
  const demo = await startDemo(
    base,
    (line) => (logging && flags.quiet !== true ? log.line(line) : undefined),
    gw,
  );
  // Listening for signals before saying anything: a signal sent on seeing the banner is caught.
  const signalled = untilSignal();
  await banner(demo, gw);
  logging = true;
  // Whatever way the process ends, the lines still buffered are written first.
  process.on('exit', () => log.flush());
  await signalled;
  log.flush();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
  await Promise.race([demo.close(), deadline]);
  // Requests in flight at Ctrl-C are logged as they end, during close.
  log.flush();
  process.stdout.write('gw demo stopped\n');
  process.exit(process.exitCode ?? 0);
}

/** Prints what runs where, who answered the demo's own probes, and what to try. */
async function banner(demo: Demo, gw: string): Promise<void> {
  const { ports } = demo;
  const out = (text = ''): boolean => process.stdout.write(`${text}\n`);
  out(`gw demo: a gateway in front of 12 demo backends (3 per protocol), all on ${HOST}`);
  out(
    `  http  ${HOST}:${ports.http}  /api → api-1..3 round-robin; /weighted → 3:2:1; /sticky → hash on x-user; /limited → 2 a second; /private → API key; /ws → ws-1..3; / → what to try`,
  );
  out(`  grpc  ${HOST}:${ports.grpc}  gw.echo.v1.Echo → grpc-1..3, balanced per call`);
  out(`  tcp   ${HOST}:${ports.tcp}  → tcp-1..3, balanced per connection`);
  out();
  out('Who answered (each reply names its backend):');
  try {
    for (const kind of BACKEND_KINDS) {
      const names = await probeMany(kind, HOST, ports, 3);
      out(`  ${kind.padEnd(4)} ×3 → ${names.join(', ')}`);
    }
    const weighted = await probeMany('http', HOST, ports, 6, '/weighted/hello');
    out(`  http /weighted ×6 → ${weighted.join(', ')}   (weights 3:2:1, smooth)`);
  } catch (err) {
    // The demo answers its own probes; when it does not, it stops rather than run half-broken.
    await demo.close();
    throw err;
  }
  out();
  out('Try it yourself:');
  out(
    `  curl -s http://${HOST}:${ports.http}/   # this list, answered by a backend through the gateway`,
  );
  for (const line of tryLines(ports, gw)) out(`  ${line}`);
  out();
  out('Access log (one line per request, call or connection); Ctrl-C stops everything:');
}

/** `gw demo call KIND`: exchanges with a running demo, naming who answered each. */
export async function runCall(kind: string, flags: CallFlags): Promise<void> {
  if (!(BACKEND_KINDS as readonly string[]).includes(kind)) {
    throw invalidArgument('kind', kind, `choose one of ${BACKEND_KINDS.join(', ')}`);
  }
  const count = positiveInt('--count', flags.count, 3);
  const names = await probeMany(
    kind as ProbeKind,
    HOST,
    demoPorts(basePort(flags.basePort)),
    count,
    flags.path,
    gwCommand(),
  );
  for (const [i, name] of names.entries()) process.stdout.write(`${kind} #${i + 1} → ${name}\n`);
}
