import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import type { HttpEcho } from '../../../src/backend/http-backend.js';
import { setTimeout as delay } from 'node:timers/promises';
import { basicStats } from '../../../src/proxy/middleware/auth/basic.js';
import { sha256Hex } from '../../../src/proxy/middleware/auth/consumers.js';
import { bareTarget, type BareTarget } from '../../helpers/h2-bare.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { connect, readBytes } from '../../helpers/sockets.js';
import {
  hs256WithPem,
  makeKeys,
  rs256,
  rs256WithoutExp,
  unsigned,
  type TestKeys,
} from '../middleware/auth/keys.js';

/** bcrypt (cost 4) of `secret-pw`. */
const HASH = '$2b$04$tKElURa5Cgu6B/UopNURtOBp5QPJ/SqeiyRmtHqwEt/Jx8saeL1gq';
const ALICE_KEY = 'alice-key-0123456789';
const BOB_KEY = 'bob-key-0123456789';

const backends: RunningBackend[] = [];
let grpcTarget: BareTarget;
let grpcSeen: http2.IncomingHttpHeaders[] = [];
let gw: TestGateway;
let keys: TestKeys;
let dir: string;

before(async () => {
  keys = await makeKeys();
  dir = mkdtempSync(join(tmpdir(), 'gw-auth-'));
  writeFileSync(join(dir, 'key.pem'), keys.publicPem);
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(keys.jwks));
  const pub = await startBackends('http', 'pub', 1);
  const adm = await startBackends('http', 'adm', 1);
  const ws = await startBackends('ws', 'ws', 1);
  backends.push(...pub, ...adm, ...ws);
  grpcTarget = await bareTarget((stream, headers) => {
    grpcSeen.push(headers);
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc' },
      { waitForTrailers: true },
    );
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end();
  });
  const jwt = `{ type: jwt, algorithms: [RS256], issuer: https://issuer.test, audience: gw`;
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: secure-host, match: { host: secure.test }, upstream: adm, auth: { type: api-key } }
      - { name: admin, match: { pathPrefix: /admin }, upstream: adm, auth: { type: api-key, query: api_key, allow: [alice] } }
      - { name: basic, match: { pathPrefix: /basic }, upstream: adm, auth: { type: basic } }
      - { name: jwt, match: { pathPrefix: /jwt }, upstream: adm, auth: ${jwt}, publicKeyFile: ${join(dir, 'key.pem')} } }
      - { name: jwks, match: { pathPrefix: /jwks }, upstream: adm, auth: ${jwt}, jwksFile: ${join(dir, 'jwks.json')} } }
      - { name: limited, match: { pathPrefix: /limited }, upstream: adm, auth: { type: api-key }, rateLimit: { rps: 0.01, burst: 1, key: consumer } }
      - { name: ws, match: { pathPrefix: /ws }, upstream: ws, auth: { type: api-key, query: api_key } }
      - { name: keep, match: { pathPrefix: /keep }, upstream: adm, auth: { type: api-key, query: api_key, forwardCredentials: true } }
      - { name: keep-basic, match: { pathPrefix: /kept-basic }, upstream: adm, auth: { type: basic, forwardCredentials: true } }
      - { name: login, match: { pathPrefix: /login }, upstream: adm, auth: { type: basic } }
      - { name: ws-locked, match: { pathPrefix: /ws-locked }, upstream: ws, auth: { type: api-key, failureLimit: { burst: 1 } } }
      - { name: walled, match: { pathPrefix: /walled }, upstream: adm, allowFrom: [10.0.0.0/8], auth: { type: api-key, query: api_key } }
      - { name: public, match: { pathPrefix: / }, upstream: pub }
  - name: edge
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: keyed, match: { pathPrefix: /k }, upstream: adm, auth: { type: api-key, query: key } }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /t.Open/ }, upstream: rpc }
      - { match: { pathPrefix: /t.T/ }, upstream: rpc, auth: { type: api-key, allow: [alice] } }
      - { match: { pathPrefix: /t.Locked/ }, upstream: rpc, auth: { type: api-key, failureLimit: { burst: 2 } } }
upstreams:
  - { name: pub, targets: ${targets(pub)} }
  - { name: adm, targets: ${targets(adm)} }
  - { name: ws, targets: ${targets(ws)} }
  - { name: rpc, targets: ["127.0.0.1:${grpcTarget.port}"] }
consumers:
  - { name: alice, apiKeys: ["sha256:${sha256Hex(ALICE_KEY)}"], basic: { username: alice, passwordHash: "${HASH}" } }
  - { name: bob, apiKeys: ["sha256:${sha256Hex(BOB_KEY)}"] }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
  await grpcTarget.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  head: string;
  body: string;
  echo?: HttpEcho;
}

/** A GET for `target` on a raw socket (no client-side URL clean-up), with extra header lines. */
async function get(
  target: string,
  fields: string[] = [],
  host = 'gw.test',
  listener = 'web',
): Promise<Answer> {
  const socket = await connect(gw.port(listener));
  socket.on('error', () => undefined);
  const extra = fields.map((f) => `${f}\r\n`).join('');
  socket.write(`GET ${target} HTTP/1.1\r\nhost: ${host}\r\n${extra}connection: close\r\n\r\n`);
  const answer = (await readBytes(socket, Number.MAX_SAFE_INTEGER)).toString('latin1');
  socket.destroy();
  const end = answer.indexOf('\r\n\r\n');
  const head = answer.slice(0, end).toLowerCase();
  const status = Number(/^http\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const body = answer.slice(end + 4);
  const echo = head.includes('x-backend') ? (JSON.parse(body) as HttpEcho) : undefined;
  return echo === undefined ? { status, head, body } : { status, head, body, echo };
}

const basic = (user: string, pw: string) =>
  `authorization: Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
const claims = { iss: 'https://issuer.test', aud: 'gw', sub: 'alice' };

describe('auth over HTTP', () => {
  it('admits a valid API key and sends the consumer upstream, replacing a spoofed x-gw-consumer', async () => {
    const a = await get('/admin/x', [`x-api-key: ${ALICE_KEY}`, 'x-gw-consumer: root']);
    assert.equal(a.status, 200);
    assert.equal(a.echo?.headers['x-gw-consumer'], 'alice');
    const q = await get(`/admin/x?api_key=${ALICE_KEY}`);
    assert.equal(q.status, 200);
    assert.equal(q.echo?.headers['x-gw-consumer'], 'alice');
  });

  it('answers 401 with WWW-Authenticate for a missing or wrong key, 403 for a consumer not allowed', async () => {
    const missing = await get('/admin/x');
    assert.equal(missing.status, 401);
    assert.match(missing.head, /www-authenticate: apikey/);
    assert.match(missing.head, /x-gw-error: gw_err_unauthenticated/);
    const wrong = await get('/admin/x', ['x-api-key: nope-nope-nope']);
    assert.equal(wrong.status, 401);
    assert.ok(!wrong.body.includes('nope'));
    const bob = await get('/admin/x', [`x-api-key: ${BOB_KEY}`]);
    assert.equal(bob.status, 403);
    assert.doesNotMatch(bob.head, /www-authenticate/);
  });

  it('checks Basic credentials against the bcrypt hash', async () => {
    const ok = await get('/basic', [basic('alice', 'secret-pw')]);
    assert.equal(ok.status, 200);
    assert.equal(ok.echo?.headers['x-gw-consumer'], 'alice');
    const bad = await get('/basic', [basic('alice', 'secret-pW')]);
    assert.equal(bad.status, 401);
    assert.match(bad.head, /www-authenticate: basic realm="gw"/);
  });

  it('admits a valid RS256 token (PEM key file and JWKS) and refuses every attack token with 401', async () => {
    const good = await rs256(keys.privateKey, claims, { kid: 'k1' });
    for (const path of ['/jwt', '/jwks']) {
      const a = await get(path, [`authorization: Bearer ${good}`]);
      assert.equal(a.status, 200, path);
      assert.equal(a.echo?.headers['x-gw-consumer'], 'alice');
    }
    const now = Math.floor(Date.now() / 1000);
    const attacks: [string, string, string][] = [
      ['forged signature', '/jwt', await rs256(keys.otherPrivate, claims)],
      ['expired', '/jwt', await rs256(keys.privateKey, { ...claims, exp: now - 300 })],
      ['not yet valid', '/jwt', await rs256(keys.privateKey, { ...claims, nbf: now + 300 })],
      ['wrong issuer', '/jwt', await rs256(keys.privateKey, { ...claims, iss: 'https://x.test' })],
      ['wrong audience', '/jwt', await rs256(keys.privateKey, { ...claims, aud: 'other' })],
      // With an exp, so that the algorithm is all they are refused for.
      ['alg none', '/jwt', unsigned({ ...claims, exp: now + 300 })],
      [
        'HS256 with the RSA public key',
        '/jwt',
        hs256WithPem(keys.publicPem, { ...claims, exp: now + 300 }),
      ],
      [
        'no exp (requireExp defaults to true)',
        '/jwt',
        await rs256WithoutExp(keys.privateKey, claims),
      ],
      ['unknown kid', '/jwks', await rs256(keys.privateKey, claims, { kid: 'k9' })],
      ['forged, known kid', '/jwks', await rs256(keys.otherPrivate, claims, { kid: 'k1' })],
    ];
    for (const [what, path, token] of attacks) {
      const a = await get(path, [`authorization: Bearer ${token}`]);
      assert.equal(a.status, 401, what);
      assert.match(a.head, /www-authenticate: bearer/, what);
      assert.ok(!a.body.includes(token.slice(0, 20)), what);
    }
  });

  it('runs before rateLimit, so key: consumer counts each consumer apart', async () => {
    assert.equal((await get('/limited', [`x-api-key: ${ALICE_KEY}`])).status, 200);
    assert.equal((await get('/limited', [`x-api-key: ${ALICE_KEY}`])).status, 429);
    assert.equal((await get('/limited', [`x-api-key: ${BOB_KEY}`])).status, 200);
    // Unauthenticated requests are refused before they count against anyone.
    assert.equal((await get('/limited')).status, 401);
    assert.equal((await get('/limited', [`x-api-key: ${BOB_KEY}`])).status, 429);
  });

  it('strips a client x-gw-consumer on a route without auth', async () => {
    const a = await get('/public/x', ['x-gw-consumer: alice', 'X-GW-Consumer: admin']);
    assert.equal(a.status, 200);
    assert.equal(a.echo?.headers['x-gw-consumer'], undefined);
  });

  it('never writes a credential to the access log', () => {
    const log = gw.log.join('\n');
    for (const secret of [ALICE_KEY, BOB_KEY, 'secret-pw', 'nope-nope', 'eyJ'])
      assert.ok(!log.includes(secret), secret);
    assert.match(log, /\/admin\/x\?api_key=\*\*\* 200 .* consumer=alice/);
  });
});

describe('failed logins are limited per client address (failureLimit, default 10 then 1/s)', () => {
  it('after 10 wrong passwords the right one gets 429 without a bcrypt, and passes after Retry-After', async () => {
    const compares = basicStats.bcryptCompares;
    for (let i = 0; i < 10; i++)
      assert.equal((await get('/login', [basic('alice', `guess-${i}`)])).status, 401, `#${i}`);
    assert.equal(basicStats.bcryptCompares - compares, 10);

    const refused = await get('/login', [basic('alice', 'secret-pw')]);
    assert.equal(refused.status, 429);
    assert.match(refused.head, /x-gw-error: gw_err_rate_limited/);
    assert.doesNotMatch(refused.head, /www-authenticate/);
    const retryAfter = Number(/retry-after: (\d+)/.exec(refused.head)?.[1]);
    assert.equal(retryAfter, 1);
    assert.equal(basicStats.bcryptCompares - compares, 10, 'refused before any bcrypt');
    assert.ok(
      gw.log.some((l) =>
        l.includes(
          'listener web, route login: 10 failed logins from 127.0.0.1; refused for 1 s (failureLimit 1/s, burst 10)',
        ),
      ),
    );

    await delay(retryAfter * 1000);
    const admitted = await get('/login', [basic('alice', 'secret-pw')]);
    assert.equal(admitted.status, 200);
    assert.equal(admitted.echo?.headers['x-gw-consumer'], 'alice');
  });
});

describe('the credential stays at the gateway (forwardCredentials defaults to false)', () => {
  it('removes the API-key header, and the query key with the other parameters kept in order', async () => {
    const h = await get('/admin/x?a=1', [`x-api-key: ${ALICE_KEY}`, 'x-other: kept']);
    assert.equal(h.status, 200);
    assert.ok(h.echo);
    assert.equal(h.echo.headers['x-api-key'], undefined);
    assert.equal(h.echo.headers['x-other'], 'kept');
    assert.equal(h.echo.url, '/admin/x?a=1');
    const q = await get(`/admin/x?a=1&api_key=${ALICE_KEY}&b=2&api_key=again`);
    assert.equal(q.status, 200);
    assert.equal(q.echo?.url, '/admin/x?a=1&b=2');
    assert.equal(q.echo.headers['x-gw-consumer'], 'alice');
    const only = await get(`/admin/x?api_key=${ALICE_KEY}`);
    assert.equal(only.echo?.url, '/admin/x', 'no "?" left behind');
  });

  it('removes Authorization after Basic and after a JWT', async () => {
    const b = await get('/basic', [basic('alice', 'secret-pw')]);
    assert.equal(b.status, 200);
    assert.ok(b.echo);
    assert.equal(b.echo.headers.authorization, undefined);
    assert.equal(b.echo.headers['x-gw-consumer'], 'alice');
    const token = await rs256(keys.privateKey, claims);
    const j = await get('/jwt', [`Authorization: Bearer ${token}`]);
    assert.equal(j.status, 200);
    assert.ok(j.echo);
    assert.equal(j.echo.headers.authorization, undefined);
    assert.equal(j.echo.headers['x-gw-consumer'], 'alice');
  });

  it('keeps them all with forwardCredentials: true', async () => {
    const q = await get(`/keep/x?a=1&api_key=${ALICE_KEY}`, [`x-api-key: ${ALICE_KEY}`]);
    assert.equal(q.status, 200);
    assert.equal(q.echo?.url, `/keep/x?a=1&api_key=${ALICE_KEY}`);
    assert.equal(q.echo.headers['x-api-key'], ALICE_KEY);
    const b = await get('/kept-basic', [basic('alice', 'secret-pw')]);
    assert.equal(b.echo?.headers.authorization, basic('alice', 'secret-pw').slice(15));
    assert.equal(b.echo.headers['x-gw-consumer'], 'alice');
  });

  it('leaves Authorization alone on a route whose auth reads an API key', async () => {
    const a = await get('/admin/x', [`x-api-key: ${ALICE_KEY}`, 'authorization: Bearer theirs']);
    assert.equal(a.echo?.headers.authorization, 'Bearer theirs');
  });
});

describe('a query key is hidden in the access log wherever the request stops', () => {
  /** The access-log line of the request for `target`, which must not hold `secret`. */
  const lineOf = (target: string, secret: string): string => {
    assert.ok(!gw.log.join('\n').includes(secret), `${secret} is in the log`);
    const path = target.split('?')[0] ?? target;
    return gw.log.find((l) => l.includes(` ${path}?`)) ?? assert.fail(`no line for ${path}`);
  };

  it('refused by allowFrom, before auth ran', async () => {
    const a = await get('/walled/x?api_key=walled-secret&b=1');
    assert.equal(a.status, 403);
    assert.match(lineOf('/walled/x', 'walled-secret'), /\/walled\/x\?api_key=\*\*\*&b=1 403 /);
  });

  it("on another route of the listener, whose auth reads no query (the listener's every key name is hidden)", async () => {
    const a = await get('/public/q?api_key=public-secret');
    assert.equal(a.status, 200);
    assert.match(lineOf('/public/q', 'public-secret'), /\/public\/q\?api_key=\*\*\* 200 /);
  });

  it('on a request no route takes, on one refused as ambiguous, and on one the parser refused', async () => {
    const none = await get('/nowhere?key=nowhere-secret', [], 'gw.test', 'edge');
    assert.equal(none.status, 404);
    assert.match(lineOf('/nowhere', 'nowhere-secret'), /edge GET \/nowhere\?key=\*\*\* 404 /);
    const bad = await get('/public/..;/admin?api_key=ambiguous-secret');
    assert.equal(bad.status, 400);
    assert.match(lineOf('/public/..;/admin', 'ambiguous-secret'), /\?api_key=\*\*\* 400 /);
    const malformed = await get('/parsed?api_key=parser-secret', ['no colon here']);
    assert.equal(malformed.status, 400);
    assert.match(lineOf('/parsed', 'parser-secret'), /\/parsed\?api_key=\*\*\* 400 /);
  });
});

describe('path and host tricks cannot reach a protected route through an unprotected one', () => {
  // 401: the request matched the protected route; 400: refused as ambiguous.
  const cases: [string, string, number][] = [
    ['/public/../admin', 'dot segments are removed before matching', 401],
    ['/public/%2e%2e/admin', 'encoded dots are decoded, then removed', 401],
    ['/public/%2E%2E/admin', 'upper-case escapes too', 401],
    ['/public/..%2Fadmin', 'an encoded slash is refused', 400],
    ['/public%2F..%2Fadmin', 'wherever it is', 400],
    ['//admin', 'duplicate slashes are merged', 401],
    ['/./admin', 'a . segment is removed', 401],
    ['/admin;jsessionid=1', '";" parameters after the prefix still match it', 401],
    ['/admin;x=1/users', 'also before more segments', 401],
    ['/public/..;/admin', 'a dot segment with parameters is refused', 400],
    ['/public/%2e%2e;x/admin', 'also encoded', 400],
  ];
  for (const [path, why, status] of cases) {
    it(`${path}: ${status} (${why})`, async () => {
      const a = await get(path);
      assert.equal(a.status, status);
      assert.equal(a.echo, undefined, 'no target was reached');
    });
  }

  it('/ADMIN goes to the catch-all: matching is case-sensitive, as paths are (RFC 3986 §6.2.2.1)', async () => {
    const a = await get('/ADMIN');
    assert.equal(a.status, 200);
    assert.equal(a.echo?.backend, 'pub-1');
    assert.equal(a.echo.path, '/ADMIN', 'and the target sees /ADMIN, not /admin');
  });

  it('a trailing dot in Host matches the host without it (same name, fully qualified)', async () => {
    for (const host of ['secure.test', 'secure.test.', 'SECURE.test.:80'])
      assert.equal((await get('/x', [], host)).status, 401, host);
    assert.equal((await get('/x', [], 'secure.test..')).status, 200, 'two dots is another name');
  });
});

describe('auth over WebSocket', () => {
  const open = (fields: Record<string, string>) =>
    new WebSocket(`ws://127.0.0.1:${gw.port('web')}/ws`, { headers: fields });

  it('refuses an upgrade without a key with 401 before the target is asked', async () => {
    const ws = open({});
    const [, res] = (await once(ws, 'unexpected-response')) as [
      unknown,
      { statusCode: number; headers: Record<string, string> },
    ];
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'ApiKey');
    // The gateway's own answer: no target was asked for the upgrade.
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_UNAUTHENTICATED');
    ws.on('error', () => undefined);
    ws.terminate();
  });

  it('upgrades with a key, sending the consumer and not the client copy', async () => {
    const ws = open({ 'x-api-key': ALICE_KEY, 'x-gw-consumer': 'root' });
    const [hello] = (await once(ws, 'message')) as [Buffer];
    const parsed = JSON.parse(hello.toString()) as { headers: Record<string, string> };
    assert.equal(parsed.headers['x-gw-consumer'], 'alice');
    assert.equal(parsed.headers['x-api-key'], undefined, 'the key stays at the gateway');
    ws.close();
  });

  it('refuses an upgrade with 429 once the client is out of failures, even with the right key', async () => {
    const url = `ws://127.0.0.1:${gw.port('web')}/ws-locked`;
    /** The refusal's status and Retry-After, or `101` when the upgrade went through. */
    const statusOf = async (key: string) => {
      const ws = new WebSocket(url, { headers: { 'x-api-key': key } });
      ws.on('error', () => undefined);
      const refused = once(ws, 'unexpected-response') as Promise<
        [unknown, { statusCode: number; headers: Record<string, string> }]
      >;
      const answer = await Promise.race([refused, once(ws, 'open').then(() => undefined)]);
      ws.terminate();
      if (answer === undefined) return '101';
      const [, res] = answer;
      return `${res.statusCode} ${res.headers['retry-after'] ?? '-'}`;
    };
    assert.equal(await statusOf('wrong'), '401 -');
    assert.equal(await statusOf(ALICE_KEY), '429 1');
  });

  it('upgrades with a query key, which the target does not get', async () => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${gw.port('web')}/ws/chat?room=1&api_key=${ALICE_KEY}&x=2`,
    );
    const [hello] = (await once(ws, 'message')) as [Buffer];
    const parsed = JSON.parse(hello.toString()) as {
      path: string;
      headers: Record<string, string>;
    };
    assert.equal(parsed.path, '/ws/chat?room=1&x=2');
    assert.equal(parsed.headers['x-gw-consumer'], 'alice');
    ws.close();
  });
});

describe('auth over gRPC', () => {
  /** One call with `metadata`; resolves with its grpc-status. */
  async function call(path: string, metadata: Record<string, string>): Promise<string> {
    const session = http2.connect(`http://127.0.0.1:${gw.port('rpc')}`);
    session.on('error', () => undefined);
    try {
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...metadata,
      });
      let status = 'none';
      req.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
      req.on(
        'trailers',
        (h: http2.IncomingHttpHeaders) => (status = String(h['grpc-status'] ?? status)),
      );
      req.on('data', () => undefined);
      req.end(Buffer.alloc(5));
      await once(req, 'close');
      return status;
    } finally {
      session.close();
    }
  }

  it('answers UNAUTHENTICATED (16) without a key and PERMISSION_DENIED (7) to a consumer not allowed, never reaching the target', async () => {
    grpcSeen = [];
    assert.equal(await call('/t.T/Unary', {}), '16');
    assert.equal(await call('/t.T/Unary', { 'x-api-key': 'wrong' }), '16');
    assert.equal(await call('/t.T/Unary', { 'x-api-key': BOB_KEY }), '7');
    assert.equal(grpcSeen.length, 0);
  });

  it('answers RESOURCE_EXHAUSTED (8) to a client out of failures, even with the right key', async () => {
    grpcSeen = [];
    assert.equal(await call('/t.Locked/Unary', { 'x-api-key': 'wrong' }), '16');
    assert.equal(await call('/t.Locked/Unary', { 'x-api-key': 'wrong-again' }), '16');
    assert.equal(await call('/t.Locked/Unary', { 'x-api-key': ALICE_KEY }), '8');
    assert.equal(grpcSeen.length, 0);
  });

  it('reads the key from metadata and sends the consumer upstream; strips a spoofed one everywhere', async () => {
    grpcSeen = [];
    assert.equal(
      await call('/t.T/Unary', { 'x-api-key': ALICE_KEY, 'x-gw-consumer': 'root' }),
      '0',
    );
    assert.equal(await call('/t.Open/Unary', { 'x-gw-consumer': 'root' }), '0');
    assert.equal(grpcSeen[0]?.['x-gw-consumer'], 'alice');
    assert.equal(grpcSeen[0]['x-api-key'], undefined, 'the key stays at the gateway');
    assert.equal(grpcSeen[1]?.['x-gw-consumer'], undefined);
  });
});
