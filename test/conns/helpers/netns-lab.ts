/**
 * Run inside a private network namespace by netns.test.ts: opens the
 * sockets it names, prints `ready`, and holds them until stdin closes.
 *
 *   ip netns exec NS node --import tsx test/conns/helpers/netns-lab.ts SYN_PORT TW_PORT
 */
import { SocketLab } from './socket-lab.js';

const [synPort = 40022, twPort = 40021] = process.argv.slice(2).map(Number);
const labs = [new SocketLab('127.0.0.1'), new SocketLab('::1')];
for (const lab of labs) await lab.halfOpen(synPort, 12);
const first = labs[0];
if (first) await first.timeWait(twPort, 30);
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.once('end', () => {
  void Promise.all(labs.map((l) => l.close())).then(() => process.exit(0));
});
