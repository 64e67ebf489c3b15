import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { ProbeResult } from './active-state.js';
import type { TcpHealthCheck } from './schema.js';
import {
  errorResult,
  failed,
  oneShot,
  passed,
  PROBE_READ_LIMIT,
  type ProbeAddress,
} from './probe.js';

/**
 * A TCP probe: connect (TLS when the upstream speaks it); then, with `send`,
 * write it; with `expect`, wait until what the target sends contains it.
 * Without `expect`, an established connection passes.
 */
export function probeTcp(check: TcpHealthCheck, to: ProbeAddress): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let connected = false;
    const socket: Socket = to.tls
      ? tls.connect({
          host: to.host,
          port: to.port,
          ...(isIP(to.host) === 0 ? { servername: to.host } : {}),
        })
      : net.connect({ host: to.host, port: to.port });
    const settle = oneShot(check.timeoutMs, resolve, () => socket.destroy());
    socket.on('error', (err) => settle(errorResult(err, connected)));
    socket.once(to.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      if (check.send !== undefined) socket.write(check.send);
      if (check.expect === undefined) {
        if (check.send === undefined) settle(passed);
        else socket.write('', () => settle(passed));
      }
    });
    const expect = check.expect;
    if (expect === undefined) return;
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes(expect)) settle(passed);
      else if (text.length >= PROBE_READ_LIMIT)
        settle(failed('answer', `answer lacks ${JSON.stringify(expect)}`));
    });
    socket.once('end', () =>
      settle(failed('answer', `closed before answering ${JSON.stringify(expect)}`)),
    );
  });
}
