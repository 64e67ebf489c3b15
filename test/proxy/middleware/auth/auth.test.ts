import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kept } from '../../../../src/proxy/middleware/state-shelf.js';
import { ManualClock } from '../../../../src/shared/clock.js';
import { Sweeper } from '../../../../src/shared/sweeper.js';
import { isGwError } from '../../../../src/shared/errors.js';
import { parseConfigText } from '../../../../src/proxy/config/load.js';
import { configNotes } from '../../../../src/proxy/config/config-notes.js';
import { apiKeyAuthenticator } from '../../../../src/proxy/middleware/auth/api-key.js';
import { basicAuthenticator, BASIC_CACHE } from '../../../../src/proxy/middleware/auth/basic.js';
import { sha256Hex, type ConsumerConfig } from '../../../../src/proxy/middleware/auth/consumers.js';
import { auth } from '../../../../src/proxy/middleware/auth/index.js';
import { jwtAuthenticator } from '../../../../src/proxy/middleware/auth/jwt.js';
import { authSchema, type JwtSettings } from '../../../../src/proxy/middleware/auth/schema.js';
import { TtlCache } from '../../../../src/proxy/middleware/auth/ttl-cache.js';
import type { ProxyConfig } from '../../../../src/proxy/config/types.js';
import { L7Exchange, type Exchange } from '../../../../src/proxy/pipeline/types.js';
import { createLocalJWKSet, SignJWT } from 'jose';
import { hs256WithPem, makeKeys, rs256, rs256WithoutExp, unsigned, type TestKeys } from './keys.js';

/** bcrypt (cost 4) of 72 × `a`. */
const LONG_HASH = '$2b$04$OiHCojJIT2pSOA0ECT3Lu.sqfkRe2gCHF8EtUNT04TBn9yXPEnYqC';
/** bcrypt (cost 4) of `secret-pw`. */
const HASH = '$2b$04$tKElURa5Cgu6B/UopNURtOBp5QPJ/SqeiyRmtHqwEt/Jx8saeL1gq';

class FakeExchange extends L7Exchange {
  private readonly fields: Record<string, string>;

  constructor(fields: Record<string, string>, url = '/') {
    super({
      kind: 'http',
      listener: 'web',
      clientIp: '127.0.0.1',
      method: 'GET',
      host: 'gw.test',
      url,
      path: url.split('?')[0] ?? '/',
      route: 'r',
      upstream: 'u',
    });
    this.fields = fields;
  }
  header(name: string): string | undefined {
    return this.fields[name];
  }
}

const consumers: ConsumerConfig[] = [
  {
    name: 'alice',
    apiKeyDigests: [sha256Hex('alice-key')],
    plainApiKeys: 0,
    basic: { username: 'alice', passwordHash: HASH },
  },
  { name: 'bob', apiKeyDigests: [sha256Hex('bob-key')], plainApiKeys: 0 },
];

/** Runs `fn` and returns the GwError code and message it threw or rejected with. */
async function refusal(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isGwError(err), String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail('expected a refusal');
}

const basicHeader = (user: string, pw: string) =>
  `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('api-key', () => {
  const check = apiKeyAuthenticator({ type: 'api-key', query: 'api_key' }, consumers);
  it('finds the consumer by the digest of the key, from the header or the query', () => {
    assert.equal(check(new FakeExchange({ 'x-api-key': 'alice-key' })), 'alice');
    assert.equal(check(new FakeExchange({}, '/x?a=1&api_key=bob-key')), 'bob');
  });
  it('refuses a missing, empty or wrong key with 401, naming no key', async () => {
    for (const ex of [
      new FakeExchange({}),
      new FakeExchange({ 'x-api-key': '' }),
      new FakeExchange({ 'x-api-key': 'alice-key ' }),
      new FakeExchange({ 'x-api-key': 'wrong' }),
    ]) {
      const r = await refusal(() => check(ex));
      assert.equal(r.code, 'GW_ERR_UNAUTHENTICATED');
      assert.doesNotMatch(r.message, /alice-key|wrong/);
    }
  });
});

describe('basic', () => {
  it('checks the password with bcrypt, then skips bcrypt for the same credentials until the cache expires', async () => {
    const clock = new ManualClock();
    const { check, cache } = basicAuthenticator(consumers, clock);
    const ex = new FakeExchange({ authorization: basicHeader('alice', 'secret-pw') });
    const first = check(ex);
    assert.ok(first instanceof Promise, 'the first check pays bcrypt');
    assert.equal(await first, 'alice');
    assert.equal(check(ex), 'alice', 'a cached success answers at once');
    clock.advance(BASIC_CACHE.ttlMs);
    assert.ok(check(ex) instanceof Promise, 'expired: bcrypt again');
    assert.equal(cache.size, 0);
  });
  it('shares one bcrypt between concurrent checks of the same credentials', async () => {
    const { check } = basicAuthenticator(consumers, new ManualClock());
    const ex = new FakeExchange({ authorization: basicHeader('alice', 'secret-pw') });
    const a = check(ex);
    const b = check(ex);
    assert.ok(a instanceof Promise);
    assert.equal(a, b);
    assert.deepEqual(await Promise.all([a, b]), ['alice', 'alice']);
    const bad = new FakeExchange({ authorization: basicHeader('alice', 'nope') });
    const [c, d] = [check(bad), check(bad)];
    assert.equal(c, d);
    await assert.rejects(Promise.resolve(c), /unauthenticated/);
    assert.ok(check(bad) instanceof Promise, 'a failure is not remembered');
    await assert.rejects(Promise.resolve(check(bad)));
  });

  it('refuses a password over 72 bytes, whose tail bcrypt would ignore', async () => {
    const { check } = basicAuthenticator(
      [
        {
          name: 'long',
          apiKeyDigests: [],
          plainApiKeys: 0,
          basic: { username: 'long', passwordHash: LONG_HASH },
        },
      ],
      new ManualClock(),
    );
    const r = await refusal(() =>
      check(new FakeExchange({ authorization: basicHeader('long', `${'a'.repeat(72)}tail`) })),
    );
    assert.match(r.message, /over 72 bytes/);
  });

  it('refuses a wrong password, an unknown user, another scheme and garbage, never caching them', async () => {
    const { check, cache } = basicAuthenticator(consumers, new ManualClock());
    for (const value of [
      basicHeader('alice', 'secret-pW'),
      basicHeader('mallory', 'secret-pw'),
      'Bearer abc',
      'Basic bm9jb2xvbg==', // "nocolon"
    ]) {
      const r = await refusal(() => check(new FakeExchange({ authorization: value })));
      assert.equal(r.code, 'GW_ERR_UNAUTHENTICATED', value);
      assert.doesNotMatch(r.message, /secret|mallory/);
    }
    assert.equal(cache.size, 0);
  });
});

describe('jwt', () => {
  let keys: TestKeys;
  before(async () => {
    keys = await makeKeys();
  });
  const settings = (extra: Partial<JwtSettings> = {}): JwtSettings => ({
    type: 'jwt',
    publicKeyFile: 'unused.pem',
    algorithms: ['RS256'],
    issuer: 'https://issuer.test',
    audience: 'gw',
    ...extra,
  });
  const good = { iss: 'https://issuer.test', aud: 'gw', sub: 'alice' };
  const bearer = (token: string) => new FakeExchange({ authorization: `Bearer ${token}` });

  it('accepts a valid RS256 token and names the consumer from sub', async () => {
    const { check } = jwtAuthenticator(settings(), keys.publicKey, new ManualClock());
    assert.equal(await check(bearer(await rs256(keys.privateKey, good))), 'alice');
  });

  it('refuses forged, expired, not-yet-valid, wrong-issuer, wrong-audience, exp-less, alg none and HS256-with-the-public-key tokens', async () => {
    const { check, cache } = jwtAuthenticator(settings(), keys.publicKey, new ManualClock());
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, RegExp][] = [
      ['forged', await rs256(keys.otherPrivate, good), /bad signature/],
      ['expired', await rs256(keys.privateKey, { ...good, exp: now - 120 }), /expired/],
      ['not yet valid', await rs256(keys.privateKey, { ...good, nbf: now + 120 }), /nbf/],
      ['wrong issuer', await rs256(keys.privateKey, { ...good, iss: 'https://evil.test' }), /iss/],
      ['wrong audience', await rs256(keys.privateKey, { ...good, aud: 'other' }), /aud/],
      // With an exp, so that the algorithm is all they are refused for.
      ['alg none', unsigned({ ...good, exp: now + 3600 }), /not allowed|ERR_/],
      [
        'HS256 keyed with the public key',
        hs256WithPem(keys.publicPem, { ...good, exp: now + 3600 }),
        /not allowed/,
      ],
      ['no exp', await rs256WithoutExp(keys.privateKey, good), /no exp claim/],
      ['not a token', 'abc.def', /ERR_|malformed/],
      ['CRLF in sub', await rs256(keys.privateKey, { ...good, sub: 'a\r\nx-evil: 1' }), /sub/],
    ];
    for (const [what, token, reason] of cases) {
      const r = await refusal(() => check(bearer(token)));
      assert.equal(r.code, 'GW_ERR_UNAUTHENTICATED', what);
      assert.match(r.message, reason, what);
      assert.ok(!r.message.includes(token), `${what}: the token is not in the message`);
    }
    assert.equal(cache.size, 0, 'refusals are never cached');
  });

  it('accepts a token without exp only with requireExp: false', async () => {
    const noExp = bearer(await rs256WithoutExp(keys.privateKey, good));
    const strict = jwtAuthenticator(settings(), keys.publicKey, new ManualClock());
    assert.match((await refusal(() => strict.check(noExp))).message, /no exp claim/);
    const lax = jwtAuthenticator(
      settings({ requireExp: false }),
      keys.publicKey,
      new ManualClock(),
    );
    assert.equal(await lax.check(noExp), 'alice');
  });

  it('tolerates clockSkewSec, and no more', async () => {
    const { check } = jwtAuthenticator(
      settings({ clockSkewSec: 60 }),
      keys.publicKey,
      new ManualClock(),
    );
    const now = Math.floor(Date.now() / 1000);
    assert.equal(
      await check(bearer(await rs256(keys.privateKey, { ...good, exp: now - 30 }))),
      'alice',
    );
    const late = await rs256(keys.privateKey, { ...good, exp: now - 90 });
    assert.match((await refusal(() => check(bearer(late)))).message, /expired/);
  });

  it('refuses a token whose kid the JWKS does not hold', async () => {
    const jwks = createLocalJWKSet(keys.jwks);
    const { check } = jwtAuthenticator(settings({ jwksFile: 'x' }), jwks, new ManualClock());
    assert.equal(await check(bearer(await rs256(keys.privateKey, good, { kid: 'k1' }))), 'alice');
    const r = await refusal(async () =>
      check(bearer(await rs256(keys.privateKey, good, { kid: 'k2' }))),
    );
    assert.match(r.message, /no key with its kid/);
  });

  it('caches a verified token until min(exp, 60 s), then verifies again', async () => {
    const clock = new ManualClock();
    let wallMs = Date.now();
    const { check } = jwtAuthenticator(
      settings({ clockSkewSec: 0 }),
      keys.publicKey,
      clock,
      () => wallMs,
    );
    const nowSec = Math.floor(wallMs / 1000);
    const long = bearer(await rs256(keys.privateKey, good, {}, nowSec));
    assert.ok(check(long) instanceof Promise);
    await check(long);
    assert.equal(check(long), 'alice', 'cached');
    clock.advance(60_000);
    assert.ok(check(long) instanceof Promise, 'past 60 s: verified again');
    // A token expiring in 10 s is cached 10 s at most: never past its exp.
    const short = bearer(await rs256(keys.privateKey, { ...good, exp: nowSec + 10 }, {}, nowSec));
    assert.equal(await check(short), 'alice');
    clock.advance(11_000);
    wallMs += 11_000;
    const r = await refusal(() => check(short));
    assert.match(r.message, /expired/);
  });
});

describe('TtlCache', () => {
  it('keeps at most maxEntries, evicting the least recently used', () => {
    const cache = new TtlCache<number>(new ManualClock(), 2);
    cache.set('a', 1, 1000);
    cache.set('b', 2, 1000);
    assert.equal(cache.get('a'), 1);
    cache.set('c', 3, 1000);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.size, 2);
  });
});

describe('auth feature', () => {
  const config = {
    source: '<test>',
    listeners: [],
    upstreams: new Map(),
    consumers,
    shutdownTimeoutMs: 5000,
  } as ProxyConfig;
  const clock = new ManualClock();
  const deps = {
    clock,
    sweeper: new Sweeper(clock),
    config,
    log: () => undefined,
    upstream: () => undefined,
    where: 'route r',
    keep: <T>(_id: string, make: () => Kept<T>) => make().value,
  };
  const closes: (() => void)[] = [];
  after(() => {
    for (const close of closes) close();
  });
  const chain = (settings: unknown) => {
    const seen: Exchange[] = [];
    const parsed = authSchema.parse(settings);
    const built = auth.build(parsed, deps);
    if (built.close !== undefined) closes.push(built.close);
    const handler = built.route?.((ex) => {
      seen.push(ex);
      return Promise.resolve();
    });
    assert.ok(handler);
    return { handler, seen };
  };

  it('sets the consumer and passes on; 401 with WWW-Authenticate; 403 for a consumer not allowed', async () => {
    const { handler, seen } = chain({ type: 'api-key', allow: ['alice'] });
    const ok = new FakeExchange({ 'x-api-key': 'alice-key' });
    await handler(ok);
    assert.equal(seen[0]?.consumer, 'alice');

    const none = new FakeExchange({});
    assert.equal((await refusal(() => handler(none))).code, 'GW_ERR_UNAUTHENTICATED');
    assert.deepEqual(none.replyFields, ['www-authenticate', 'ApiKey']);

    const bob = new FakeExchange({ 'x-api-key': 'bob-key' });
    assert.equal((await refusal(() => handler(bob))).code, 'GW_ERR_FORBIDDEN');
    assert.equal(bob.replyFields, undefined);
    assert.equal(bob.consumer, '');
    assert.equal(seen.length, 1);
  });

  it('never shows a JWT secret in --check output', () => {
    const settings = authSchema.parse({
      type: 'jwt',
      secret: 'x'.repeat(40),
      algorithms: ['HS256'],
    });
    assert.ok(!JSON.stringify(auth.toJson(settings)).includes('xxxx'));
    assert.equal(auth.describe(settings), 'auth jwt');
  });

  it('asks for Basic credentials with a realm', async () => {
    const { handler } = chain({ type: 'basic' });
    const ex = new FakeExchange({ authorization: basicHeader('alice', 'nope') });
    await refusal(() => handler(ex));
    assert.deepEqual(ex.replyFields, ['www-authenticate', 'Basic realm="gw"']);
  });

  it('refuses a JWT without exp with 401, the trace saying why without the token', async () => {
    const secret = 's'.repeat(40);
    const { handler } = chain({ type: 'jwt', secret, algorithms: ['HS256'] });
    const token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(secret));
    const ex = new FakeExchange({ authorization: `Bearer ${token}` });
    ex.trace = [];
    assert.equal((await refusal(() => handler(ex))).code, 'GW_ERR_UNAUTHENTICATED');
    assert.deepEqual(ex.trace, [
      'auth: jwt refused, unauthenticated: invalid token (no exp claim)',
    ]);
  });

  it('refuses an allow list naming no defined consumer when the config loads', () => {
    assert.throws(() => chain({ type: 'basic', allow: ['alcie'] }), /no consumer named alcie/);
  });

  it('names a query-parameter key for the access log to hide, known from the settings alone', () => {
    const secretParams = (settings: unknown) => auth.secretParams?.(authSchema.parse(settings));
    assert.deepEqual(secretParams({ type: 'api-key', query: 'key' }), ['key']);
    assert.deepEqual(secretParams({ type: 'api-key' }), []);
    assert.deepEqual(secretParams({ type: 'basic' }), []);
  });
});

describe('config', () => {
  const yaml = (consumersYaml: string, authYaml = '{ type: basic }') => `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes: [{ upstream: u, auth: ${authYaml} }]
upstreams: [{ name: u, targets: ["127.0.0.1:1"] }]
consumers: ${consumersYaml}
`;
  it('keeps digests of keys, never the plain text, with a note discouraging plain keys', () => {
    const config = parseConfigText(
      yaml(
        `[{ name: a, apiKeys: ["sha256:${sha256Hex('k1').toUpperCase()}", "plain-key"], rateLimit: { rps: 5, burst: 2 } }]`,
      ),
      'x.yaml',
    );
    const a = config.consumers[0];
    assert.ok(a);
    assert.deepEqual(a.apiKeyDigests, [sha256Hex('k1'), sha256Hex('plain-key')]);
    assert.deepEqual(a.rateLimit, { rps: 5, burst: 2 });
    assert.ok(!JSON.stringify(config.consumers).includes('plain-key'));
    const notes = configNotes(config).join('\n');
    assert.match(notes, /consumer a has 1 API key\(s\) in plain text/);
    assert.doesNotMatch(notes, /plain-key/);
  });

  it('refuses duplicates, plain passwords, bad digests and short or mismatched JWT keys, without echoing secrets', () => {
    const cases: [string, string, RegExp][] = [
      [yaml('[{ name: a }, { name: a }]'), '', /the same consumer twice/],
      [yaml('[{ name: a, apiKeys: [k] }, { name: b, apiKeys: [k] }]'), '', /a key used twice/],
      [
        yaml('[{ name: a, basic: { username: a, passwordHash: hunter2 } }]'),
        '',
        /not a bcrypt hash/,
      ],
      [yaml('[{ name: a, apiKeys: ["sha256:abc"] }]'), '', /64 hex digits/],
      [
        yaml('[]', '{ type: jwt, secret: tooshortsecret, algorithms: [HS256] }'),
        'tooshortsecret',
        /at least 32 bytes/,
      ],
      [
        yaml('[]', `{ type: jwt, secret: "${'s'.repeat(40)}", algorithms: [RS256] }`),
        'ssssssss',
        /HS256\/HS384\/HS512 only/,
      ],
      [
        yaml('[]', '{ type: jwt, publicKeyFile: k.pem, algorithms: [RS256, HS256] }'),
        '',
        /cannot verify HS256/,
      ],
      [yaml('[]', '{ type: jwt, algorithms: [RS256] }'), '', /exactly one of/],
      [yaml('[]', '{ type: jwt, publicKeyFile: k.pem, algorithms: [none] }'), '', /algorithms/],
    ];
    for (const [text, secret, expected] of cases) {
      assert.throws(
        () => parseConfigText(text, 'x.yaml'),
        (err: Error) => {
          assert.match(err.message, expected);
          if (secret !== '') assert.ok(!err.message.includes(secret), err.message);
          return true;
        },
      );
    }
  });

  it('says where auth goes when it is written on a listener', () => {
    const text = `
listeners: [{ name: web, protocol: http, listen: 127.0.0.1:0, auth: { type: basic }, routes: [{ upstream: u }] }]
upstreams: [{ name: u, targets: ["127.0.0.1:1"] }]
`;
    assert.throws(() => parseConfigText(text, 'x.yaml'), /auth goes on a route/);
  });
});
