import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { isMap, isPair, isSeq, parseDocument, stringify } from 'yaml';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { findExcessNesting, MAX_NESTING_DEPTH } from '../../../src/proxy/config/parse-yaml.js';
import { routingTable, routingTableJson } from '../../../src/proxy/config/routing-table.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { ProxyConfig, TargetConfig } from '../../../src/proxy/config/types.js';
import { compileRoutes, matchRoute } from '../../../src/proxy/routing/compile-routes.js';
import { ConfigError, MAX_LISTED_CONFIG_ISSUES } from '../../../src/shared/errors.js';
import { runGw } from '../../helpers/cli.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { connect } from '../../helpers/sockets.js';
import { issuesOf, kindsAndPaths, minimalRaw } from './helpers.js';

const DEPTH = 3000;

/** YAML nested DEPTH deep in the forms that reach the parser's recursion. */
const DEEP: Record<string, () => string> = {
  'a block mapping, then a key back at column 0': () => {
    let text = '';
    for (let i = 0; i < DEPTH; i++) text += `${' '.repeat(i)}a:\n`;
    return `${text}b: 1\n`;
  },
  'block lists, then a key back at column 0': () => {
    let text = '';
    for (let i = 0; i < DEPTH; i++) text += `${' '.repeat(i)}-\n`;
    return `${text}b: 1\n`;
  },
  'compact block lists on one line': () => `${'- '.repeat(DEPTH)}x\n`,
  'flow lists': () => '['.repeat(DEPTH) + ']'.repeat(DEPTH),
  'flow mappings': () => '{a: '.repeat(DEPTH) + '1' + '}'.repeat(DEPTH),
  // Malformed, but the parser still nests a mapping for every further `:`.
  'compact mappings on one line (a: a: a: …)': () => `${'a: '.repeat(DEPTH)}x\n`,
  'compact mappings in a flow mapping': () => `{${'a: '.repeat(DEPTH)}}`,
  'empty keys (: : : …), then a key back at column 0': () => `k:\n ${': '.repeat(DEPTH)}\nb: 1\n`,
  'deep inside listeners, then upstreams': () => {
    let text = 'listeners:\n';
    for (let i = 0; i < DEPTH; i++) text += `${' '.repeat(i + 1)}a:\n`;
    return `${text}upstreams: []\n`;
  },
};

/** A config whose one upstream has `n` targets, built without parsing `n` YAML lines. */
function withTargets(n: number): ProxyConfig {
  const config = parseConfig(minimalRaw(), 'gw.yaml');
  const app = config.upstreams.get('app');
  assert.ok(app);
  const many: TargetConfig[] = Array.from({ length: n }, (_, i) => {
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    return { id: `${host}:80`, address: { host, port: 80 }, weight: 1 };
  });
  return { ...config, upstreams: new Map([['app', { ...app, targets: many }]]) };
}

/** The depth the gauge measures: the smallest limit `text` stays within. */
function depthOf(text: string): number {
  for (let limit = 0; ; limit++) if (findExcessNesting(text, limit) === undefined) return limit;
}

/** Levels of lists and mappings inside each other in a parsed value (an empty one counts). */
function trueDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce((max: number, child) => Math.max(max, trueDepth(child)), 0);
}

/** Levels of collections inside each other in a parsed document, keys included (iterative). */
function nodeDepth(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 0]];
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const [node, depth] = entry;
    if (!isMap(node) && !isSeq(node)) continue;
    deepest = Math.max(deepest, depth + 1);
    for (const item of node.items) {
      if (isPair(item)) stack.push([item.key, depth + 1], [item.value, depth + 1]);
      else stack.push([item, depth + 1]);
    }
  }
  return deepest;
}

describe('hostile configs', () => {
  for (const [form, make] of Object.entries(DEEP)) {
    it(`refuses ${DEPTH}-deep YAML (${form}) as GW_ERR_CONFIG with its line and column`, () => {
      const issues = issuesOf(() => parseConfigText(make(), 'deep.yaml'));
      assert.equal(issues.length, 1);
      const issue = issues[0];
      assert.ok(issue !== undefined);
      assert.equal(issue.kind, 'invalid');
      assert.match(issue.problem, /nested more than 64 levels deep/);
      assert.ok(issue.line !== undefined && issue.column !== undefined);
    });
  }

  it("measures nesting as the parser's open levels: collections, and a key being read", () => {
    const depth = depthOf;
    assert.equal(depth('a:\n  b:\n    c: 1\n'), 4);
    assert.equal(depth('a:\n- b:\n  - c: 1\n'), 6);
    assert.equal(depth('a: [1, {b: [2]}]\n'), 4);
    assert.equal(depth('a: |\n  [[[[ {{{{\nb: "[[[[" # [[[[\n'), 2);
    assert.equal(depth('a:\n b: 1\n---\nc: 1\n'), 3);
    // Exactly at the limit is accepted (then refused for what it is, not for its depth).
    const atLimit = '['.repeat(MAX_NESTING_DEPTH) + ']'.repeat(MAX_NESTING_DEPTH);
    assert.equal(findExcessNesting(atLimit), undefined);
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfigText(atLimit, 'x.yaml'))), [
      'invalid ',
    ]);
  });

  it('measures at least the true depth of any YAML document, and at most one more', () => {
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.oneof(fc.integer(), fc.constantFrom('a', 'two\nlines\n', ' x', '[{', '- y', '# z')),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', '? c', '- d'), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(
        value,
        fc.record({
          collectionStyle: fc.constantFrom('any', 'block', 'flow'),
          indent: fc.integer({ min: 1, max: 4 }),
          indentSeq: fc.boolean(),
        }),
        (doc, options) => {
          const text = stringify(doc, options);
          const real = trueDepth(doc);
          const measured = depthOf(text);
          assert.ok(measured >= real && measured <= real + 1, `${measured}, ${real}:\n${text}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('bounds what the parser builds from malformed text: at most twice the measure, plus 2', () => {
    const piece = fc.constantFrom(
      ...['- ', '? ', ': ', '[', '{', ']', '}', ',', '\n', ' ', '  ', '\n  ', '\n    ', '\t'],
      ...['a', 'b: ', '|', '>', '#c', "'q'", '"q"', '&x ', '*x', '!t ', '-', ':', '---\n'],
      ...['...\n', '"m\n l"', 'p\n  q', 'k: |-\n  x\n', '[a: ', '{a: ', ' : ', '\r\n', '[a ['],
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (pieces) => {
        const text = pieces.join('');
        const built = parseDocument(text, { logLevel: 'silent' }).contents;
        assert.ok(nodeDepth(built) <= 2 * depthOf(text) + 2, JSON.stringify(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('reports a value nested 6,000 deep through a chain of aliases, without a RangeError', () => {
    let text = `l0: &l0 ${'['.repeat(60)}${']'.repeat(60)}\n`;
    for (let i = 1; i < 100; i++) {
      text += `l${i}: &l${i} ${'['.repeat(60)}*l${i - 1}${']'.repeat(60)}\n`;
    }
    text += 'listeners: [*l99]\nupstreams: []\n';
    const issues = issuesOf(() => parseConfigText(text, 'x.yaml'));
    const listener = issues.find((issue) => issue.path === 'listeners[0]');
    assert.equal(listener?.got, '[…]');
  });

  it('is not reset by block scalars: 300 levels, each with a | scalar, are refused', () => {
    let text = '';
    for (let i = 0; i < 300; i++) {
      text += `${' '.repeat(i)}k${i}:\n${' '.repeat(i + 1)}s: |\n${' '.repeat(i + 2)}text\n`;
    }
    assert.match(issuesOf(() => parseConfigText(text, 'x.yaml'))[0]?.problem ?? '', /nested more/);
  });

  it('prints the routing table of an upstream with 130,000 targets, text and JSON', () => {
    const config = withTargets(130_000);
    const lines = routingTable(config);
    assert.equal(lines.filter((line) => line.includes('weight 1')).length, 130_000);
    const json = routingTableJson(config);
    assert.equal(json.upstreams[0]?.targets.length, 130_000);
  });

  it('prints the routing table of a listener with 130,000 routes', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: Array.from({ length: 130_000 }, (_, i) => ({
        match: { path: `/r${i}` },
        upstream: 'app',
      })),
    };
    const lines = routingTable(parseConfig(raw, 'gw.yaml'));
    assert.equal(lines.filter((line) => line.includes('→ app')).length, 130_000);
  });

  it('keeps a __proto__ header match as a condition, and takes constructor as a header name', () => {
    const config = parseConfigText(
      `listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { match: { headers: { __proto__: b } }, upstream: app }
      - { match: { headers: { constructor: a, x-v: "1" } }, upstream: app }
upstreams: [{ name: app, targets: [127.0.0.1:9] }]
`,
      'gw.yaml',
    );
    const listener = config.listeners[0];
    assert.ok(listener?.protocol === 'http');
    assert.deepEqual(Object.entries(listener.routes[0]?.match.headers ?? {}), [['__proto__', 'b']]);
    assert.deepEqual(Object.entries(listener.routes[1]?.match.headers ?? {}), [
      ['constructor', 'a'],
      ['x-v', '1'],
    ]);
    const routes = compileRoutes(listener.routes);
    // As the HTTP/1.1 and gRPC listeners build them: null-prototype maps.
    const request = (...fields: [string, string][]) => {
      const headers = Object.create(null) as Record<string, string>;
      for (const [name, value] of fields) headers[name] = value;
      return { method: 'GET', host: 'x', path: '/', headers };
    };
    assert.equal(matchRoute(routes, request()), undefined);
    assert.equal(matchRoute(routes, request(['__proto__', 'b']))?.name, 'route-1');
    assert.equal(matchRoute(routes, request(['constructor', 'a'], ['x-v', '1']))?.name, 'route-2');
    assert.deepEqual(
      JSON.parse(JSON.stringify(routingTableJson(config))),
      routingTableJson(config),
    );
  });

  it('checks __proto__ and constructor header matches like any other', () => {
    const issues = issuesOf(() =>
      parseConfigText(
        `listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { match: { headers: { __proto__: 5 } }, upstream: app }
      - { match: { headers: { constructor: a, Constructor: b } }, upstream: app }
upstreams: [{ name: app, targets: [127.0.0.1:9] }]
`,
        'gw.yaml',
      ),
    );
    assert.deepEqual(kindsAndPaths(issues), [
      'invalid listeners[0].routes[0].match.headers.__proto__',
      'invalid listeners[0].routes[1].match.headers.Constructor',
    ]);
    assert.equal(issues[0]?.line, 6);
  });

  it('lists the first 50 of 6,000 problems and says how many more there are', () => {
    const raw = minimalRaw();
    raw.listeners = Array.from({ length: 2000 }, (_, i) => ({
      name: `bad name ${i}`,
      protocol: 'htp',
      listen: 'x:99999',
    }));
    let error: unknown;
    try {
      parseConfig(raw, 'gw.yaml');
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    assert.equal(error.issues.length, 6000);
    const lines = error.message.split('\n');
    assert.equal(lines.length, 1 + MAX_LISTED_CONFIG_ISSUES + 1);
    assert.equal(lines.at(-1), '  … and 5,950 more');
    assert.match(lines[0] ?? '', /\(6,000 problems\)/);
  });
});

describe('hostile configs, through the CLI and the gateway', () => {
  let dir = '';
  const backends: RunningBackend[] = [];
  let gw: TestGateway | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-hostile-config-'));
    backends.push(...(await startBackends('http', 'h', 1)));
  });

  after(async () => {
    await gw?.close();
    await Promise.all(backends.map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('gw proxy --check: 3,000-deep YAML exits 2 with GW_ERR_CONFIG, not GW_ERR_INTERNAL', async () => {
    const file = join(dir, 'deep.yaml');
    await writeFile(file, DEEP['a block mapping, then a key back at column 0']?.() ?? '');
    const { code, stderr } = await runGw(['proxy', '--config', file, '--check']);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /GW_ERR_CONFIG/);
    assert.match(stderr, /deep\.yaml:65:65: nested more than 64 levels deep/);
  });

  it('gw proxy --check: 1,000 invalid listeners (3,000 problems) print 50 and a count', async () => {
    const file = join(dir, 'many.yaml');
    let text = 'listeners:\n';
    for (let i = 0; i < 1000; i++)
      text += `  - { name: "bad ${i}", protocol: htp, listen: "x:99999" }\n`;
    await writeFile(file, `${text}upstreams: []\n`);
    const { code, stderr } = await runGw(['proxy', '--config', file, '--check']);
    assert.equal(code, 2, stderr);
    assert.ok(stderr.split('\n').length < 60, `${stderr.split('\n').length} lines`);
    assert.match(stderr, /… and 2,950 more/);
  });

  it('a route matching header __proto__: b does not take requests without that header', async () => {
    gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    underscoreHeaders: pass # names with _ are dropped before routing by default
    routes: [{ match: { headers: { __proto__: b } }, upstream: app }]
upstreams: [{ name: app, targets: ${targets(backends)} }]
`);
    const status = async (extra: string): Promise<string> => {
      const socket: net.Socket = await connect(gw?.port('web') ?? 0);
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`);
      let head = '';
      for await (const chunk of socket) head += (chunk as Buffer).toString('latin1');
      return head.split('\r\n')[0] ?? '';
    };
    assert.equal(await status(''), 'HTTP/1.1 404 Not Found');
    assert.equal(await status('__proto__: b\r\n'), 'HTTP/1.1 200 OK');
  });
});

describe('hostile configs: size', () => {
  it('lists who uses each of 20,000 upstreams in one pass over the routes', () => {
    const raw = minimalRaw();
    const n = 20_000;
    raw.upstreams = Array.from({ length: n }, (_, i) => ({
      name: `u${i}`,
      targets: ['10.0.0.1:80'],
    }));
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: Array.from({ length: n }, (_, i) => ({
        match: { path: `/r${i}` },
        upstream: `u${i}`,
      })),
    };
    const json = routingTableJson(parseConfig(raw, 'gw.yaml'));
    assert.deepEqual(json.upstreams[0]?.usedBy, ['web/route-1']);
    assert.deepEqual(json.upstreams[n - 1]?.usedBy, [`web/route-${n}`]);
  });

  it(
    'checks 100,000 listeners for address conflicts in linear time, finding the one clash',
    { timeout: 30_000 },
    () => {
      const raw = minimalRaw();
      raw.listeners = Array.from({ length: 100_000 }, (_, i) => ({
        name: `l${i}`,
        protocol: 'tcp',
        listen: `127.0.${(i >> 8) & 255}.${i & 255}:${1 + (i % 60_000)}`,
        upstream: 'app',
      }));
      raw.listeners.push({ name: 'last', protocol: 'tcp', listen: '0.0.0.0:1', upstream: 'app' });
      assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
        'conflict listeners[100000].listen',
      ]);
    },
  );
});
