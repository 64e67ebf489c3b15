import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildChain, compose } from '../../../src/proxy/pipeline/build-chains.js';
import {
  newExchange,
  type Exchange,
  type Handler,
  type Middleware,
} from '../../../src/proxy/pipeline/types.js';
import { forbidden } from '../../../src/shared/errors.js';

// compose and buildChain are the whole of how middleware wraps a request: who sees it first,
// who sees the final status, where a thrown error becomes the protocol's answer.

function exchange(): Exchange {
  return newExchange({
    kind: 'http',
    listener: 'web',
    clientIp: '127.0.0.1',
    method: 'GET',
    host: 'a.test',
    url: '/',
    path: '/',
    route: 'r',
    upstream: 'app',
  });
}

/** A middleware that records `name>` on the way in and `<name` on the way out. */
function recorder(name: string, log: string[]): Middleware {
  return (next) => async (ex) => {
    log.push(`${name}>`);
    await next(ex);
    log.push(`<${name}`);
  };
}

describe('pipeline: compose', () => {
  it('is a(b(t)): the first middleware sees the request first and the result last', async () => {
    const log: string[] = [];
    const terminal: Handler = (ex) => {
      log.push('t');
      ex.status = 200;
      return Promise.resolve();
    };
    const handler = compose([recorder('a', log), recorder('b', log)], terminal);
    await handler(exchange());
    assert.deepEqual(log, ['a>', 'b>', 't', '<b', '<a']);
  });

  it('with no middleware is the terminal itself', () => {
    const terminal: Handler = () => Promise.resolve();
    assert.equal(compose([], terminal), terminal);
  });

  it('wraps each middleware once, at compose time, never per request', async () => {
    let wraps = 0;
    const counting: Middleware = (next) => {
      wraps++;
      return next;
    };
    const handler = compose([counting, counting], () => Promise.resolve());
    assert.equal(wraps, 2);
    await handler(exchange());
    await handler(exchange());
    assert.equal(wraps, 2);
  });
});

describe('pipeline: buildChain', () => {
  it('runs front, then route middleware in array order, then the terminal', async () => {
    const log: string[] = [];
    const chain = buildChain(
      [recorder('f1', log), recorder('f2', log)],
      [recorder('r1', log), recorder('r2', log), recorder('r3', log)],
      {
        terminal: () => {
          log.push('t');
          return Promise.resolve();
        },
        answer: () => log.push('answer'),
      },
    );
    await chain(exchange());
    assert.deepEqual(log, [
      'f1>',
      'f2>',
      'r1>',
      'r2>',
      'r3>',
      't',
      '<r3',
      '<r2',
      '<r1',
      '<f2',
      '<f1',
    ]);
  });

  it('gives the front middleware the status the answer wrote for an error', async () => {
    const seen: number[] = [];
    const front: Middleware = (next) => async (ex) => {
      await next(ex);
      seen.push(ex.status);
    };
    const chain = buildChain([front], [], {
      terminal: () => Promise.reject(forbidden('test')),
      answer: (ex, err) => {
        ex.status = err instanceof Error && 'httpStatus' in err ? Number(err.httpStatus) : 0;
      },
    });
    await chain(exchange());
    assert.deepEqual(seen, [403]);
  });

  for (const [where, throwsFrom] of [
    ['a route middleware (rejecting)', 'route-reject'],
    ['a route middleware (throwing in an async handler)', 'route-throw'],
    ['the terminal', 'terminal'],
  ] as const) {
    it(`passes an error from ${where} to answer exactly once, and it never escapes`, async () => {
      const boom = forbidden('no');
      const answered: unknown[] = [];
      const route: Middleware = (next) => (ex) => {
        if (throwsFrom === 'route-reject') return Promise.reject(boom);
        if (throwsFrom === 'route-throw') {
          return (async () => {
            await Promise.resolve();
            throw boom;
          })();
        }
        return next(ex);
      };
      let terminalRan = false;
      const chain = buildChain([], [route], {
        terminal: () => {
          terminalRan = true;
          return throwsFrom === 'terminal' ? Promise.reject(boom) : Promise.resolve();
        },
        answer: (_ex, err) => answered.push(err),
      });
      const ex = exchange();
      await chain(ex); // resolves: the error does not escape
      assert.equal(answered.length, 1);
      assert.equal(answered[0], boom);
      assert.equal(terminalRan, throwsFrom === 'terminal');
    });
  }

  it('passes an error a route middleware throws synchronously (not as a rejection) to answer', async () => {
    const answered: unknown[] = [];
    const route: Middleware = () => () => {
      throw forbidden('sync');
    };
    const chain = buildChain([], [route], {
      terminal: () => Promise.resolve(),
      answer: (_ex, err) => answered.push(err),
    });
    let escaped: unknown;
    try {
      await chain(exchange());
    } catch (err) {
      escaped = err;
    }
    assert.equal(escaped, undefined);
    assert.equal(answered.length, 1);
  });

  it('does not call answer when nothing fails', async () => {
    let answers = 0;
    const chain = buildChain([], [recorder('r', [])], {
      terminal: () => Promise.resolve(),
      answer: () => answers++,
    });
    await chain(exchange());
    assert.equal(answers, 0);
  });

  it('lets an error from a front middleware (outside the answer) reach the caller', async () => {
    // The front is outermost by design (the access log): what it throws is not answered.
    let answers = 0;
    const front: Middleware = () => () => Promise.reject(new Error('front'));
    const chain = buildChain([front], [], {
      terminal: () => Promise.resolve(),
      answer: () => answers++,
    });
    await assert.rejects(chain(exchange()), /front/);
    assert.equal(answers, 0);
  });

  it('shares one route middleware instance (and its state) between protocol chains', async () => {
    let count = 0;
    let builds = 0;
    const counter: Middleware = (next) => {
      builds++;
      return (ex) => {
        count++;
        return next(ex);
      };
    };
    // The state lives in the feature's build (one per route), not in the wrap.
    const route = [counter];
    const end = { terminal: () => Promise.resolve(), answer: () => undefined };
    const httpChain = buildChain([], route, end);
    const grpcChain = buildChain([], route, end);
    await httpChain(exchange());
    await grpcChain(exchange());
    await httpChain(exchange());
    assert.equal(count, 3, 'one counter seen by both chains');
    assert.equal(builds, 2, 'each chain wraps its own next once');
  });
});
