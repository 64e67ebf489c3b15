import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { ProbeResult } from './active-state.js';
import type { HttpHealthCheck } from './schema.js';
import {
  errorResult,
  failed,
  oneShot,
  passed,
  PROBE_READ_LIMIT,
  type ProbeAddress,
} from './probe.js';

/**
 * An HTTP/1.1 probe: `method path` with the check's Host (default the
 * target's address), on its own connection (closed after). Passes when the
 * status is in `expectStatus` and, with `body`, the first 64 KiB of the
 * answer contain it.
 */
export function probeHttp(check: HttpHealthCheck, to: ProbeAddress): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let connected = false;
    const request = (to.tls ? https : http).request({
      host: to.host,
      port: to.port,
      method: check.method,
      path: check.path,
      agent: false,
      headers: {
        host: check.host ?? to.id,
        'user-agent': 'gw-health-check',
        connection: 'close',
      },
      ...(to.tls && isIP(to.host) === 0 ? { servername: to.host } : {}),
    });
    const settle = oneShot(check.timeoutMs, resolve, () => request.destroy());
    request.once('socket', (socket) => {
      socket.once(to.tls ? 'secureConnect' : 'connect', () => (connected = true));
    });
    request.on('error', (err) => settle(errorResult(err, connected)));
    request.once('response', (response) => {
      const status = response.statusCode ?? 0;
      if (!check.expectStatus.some(([lo, hi]) => status >= lo && status <= hi)) {
        settle(failed('answer', `status ${status}`));
        return;
      }
      const wanted = check.body;
      if (wanted === undefined || check.method === 'HEAD') {
        settle(passed);
        return;
      }
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes(wanted)) settle(passed);
        else if (text.length >= PROBE_READ_LIMIT)
          settle(failed('answer', `body lacks ${JSON.stringify(wanted)}`));
      });
      response.once('end', () => settle(failed('answer', `body lacks ${JSON.stringify(wanted)}`)));
      response.on('error', (err) => settle(errorResult(err, true)));
    });
    request.end();
  });
}
