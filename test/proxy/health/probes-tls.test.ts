import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runProbe } from '../../../src/proxy/health/probe.js';
import { resolveHealthCheck } from '../../../src/proxy/health/schema.js';
import { makeCert } from '../../helpers/proxy.js';

const PROBE_MODULE = fileURLToPath(new URL('../../../src/proxy/health/probe.ts', import.meta.url));
const SCHEMA_MODULE = fileURLToPath(
  new URL('../../../src/proxy/health/schema.ts', import.meta.url),
);

const dir = mkdtempSync(join(tmpdir(), 'gw-health-tls-'));
let cert: { cert: string; key: string };
let httpsServer: https.Server;
let h2Server: http2.Http2SecureServer;
let httpsPort = 0;
let h2Port = 0;

before(async () => {
  cert = makeCert(dir, 'probe');
  const options = { cert: readFileSync(cert.cert), key: readFileSync(cert.key) };
  httpsServer = https.createServer(options, (_req, res) => res.end('ok'));
  h2Server = http2.createSecureServer(options);
  h2Server.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 1]));
    });
  });
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => h2Server.listen(0, '127.0.0.1', resolve));
  httpsPort = (httpsServer.address() as AddressInfo).port;
  h2Port = (h2Server.address() as AddressInfo).port;
});

after(async () => {
  httpsServer.closeAllConnections();
  await new Promise((resolve) => httpsServer.close(resolve));
  await new Promise((resolve) => h2Server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Probes from a child process that trusts the test certificate (NODE_EXTRA_CA_CERTS is read at start). */
function probeTrusting(type: 'http' | 'tcp' | 'grpc', port: number): Promise<unknown> {
  const script = `
    const { runProbe } = await import(${JSON.stringify(PROBE_MODULE)});
    const { resolveHealthCheck } = await import(${JSON.stringify(SCHEMA_MODULE)});
    const check = resolveHealthCheck({ type: ${JSON.stringify(type)}, timeoutMs: 2000 });
    const result = await runProbe(check, { host: 'localhost', port: ${port}, id: 'localhost:${port}', tls: true });
    process.stdout.write(JSON.stringify(result));
  `;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert.cert }, timeout: 20_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

describe('probes of a tls upstream', () => {
  it('speak TLS and verify the certificate like the data plane: an untrusted one fails', async () => {
    for (const [type, port] of [
      ['http', httpsPort],
      ['tcp', httpsPort],
      ['grpc', h2Port],
    ] as const) {
      const result = await runProbe(resolveHealthCheck({ type, timeoutMs: 2000 }), {
        host: 'localhost',
        port,
        id: `localhost:${port}`,
        tls: true,
      });
      assert.equal(result.ok, false, type);
      assert.match(JSON.stringify(result), /SELF_SIGNED|self.signed/i, type);
    }
  });

  it('pass against a trusted certificate (http, tcp, grpc with ALPN h2)', async () => {
    assert.deepEqual(await probeTrusting('http', httpsPort), { ok: true });
    assert.deepEqual(await probeTrusting('tcp', httpsPort), { ok: true });
    assert.deepEqual(await probeTrusting('grpc', h2Port), { ok: true });
  });
});
