import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigIssue } from '../../../src/shared/errors.js';
import type { TargetConfig } from '../../../src/proxy/config/types.js';
import {
  addressTargets,
  nextDelayMs,
  srvTargets,
} from '../../../src/proxy/discovery/dns-records.js';
import { etcdTargets, parseEtcdValue } from '../../../src/proxy/discovery/etcd-values.js';
import { parseEtcdUrl } from '../../../src/proxy/discovery/etcd-url.js';
import {
  formatTargetListIssues,
  parseTargetList,
} from '../../../src/proxy/discovery/target-list.js';
import { sameTargetSet, targetChanges } from '../../../src/proxy/discovery/upstream-source.js';

function problemsOf(text: string): readonly ConfigIssue[] {
  const parsed = parseTargetList(text);
  if (parsed.ok) assert.fail(`expected problems in ${text}`);
  return parsed.issues;
}

const ids = (targets: readonly TargetConfig[]) => targets.map((t) => `${t.id}*${t.weight}`);

describe('parseTargetList (discovery files)', () => {
  it('reads a YAML list of "host:port" and { address, weight }, as targets: in the config', () => {
    const parsed = parseTargetList('- 127.0.0.1:9001\n- { address: "[::1]:9002", weight: 3 }\n');
    assert.ok(parsed.ok);
    assert.deepEqual(ids(parsed.targets), ['127.0.0.1:9001*1', '[::1]:9002*3']);
    assert.deepEqual(parsed.targets[1]?.address, { host: '::1', port: 9002 });
  });

  it('reads JSON, a targets: mapping, and an empty file as no targets', () => {
    const json = parseTargetList('[{"address": "10.0.0.1:80", "weight": 2}]');
    assert.ok(json.ok);
    assert.deepEqual(ids(json.targets), ['10.0.0.1:80*2']);
    const nested = parseTargetList('targets:\n  - 10.0.0.2:80\n');
    assert.ok(nested.ok);
    assert.deepEqual(ids(nested.targets), ['10.0.0.2:80*1']);
    const empty = parseTargetList('');
    assert.ok(empty.ok);
    assert.deepEqual(empty.targets, []);
  });

  it('places each problem at its line and column, as config errors are', () => {
    const issues = problemsOf(
      '- 127.0.0.1:9001\n- { address: 127.0.0.1:99999 }\n- { address: 127.0.0.1:1, wieght: 2 }\n',
    );
    const text = formatTargetListIssues('t.yaml', issues);
    assert.match(text, /^t\.yaml:2:14: \[1\]\.address: /);
    assert.match(text, /t\.yaml:3:27: \[2\]\.wieght: unknown setting/);
  });

  it('reports YAML syntax errors with their place, and duplicates, and a mapping that is no list', () => {
    const syntax = problemsOf('- 127.0.0.1:9001\n- [unclosed\n');
    assert.equal(syntax[0]?.kind, 'syntax');
    assert.ok((syntax[0].line ?? 0) >= 2);
    const dup = problemsOf('- 127.0.0.1:9001\n- { address: 127.0.0.1:9001, weight: 2 }\n');
    assert.match(
      formatTargetListIssues('t.yaml', dup),
      /t\.yaml:2:3: \[1\]: the same target as \[0\]/,
    );
    const scalar = problemsOf('just text\n');
    assert.match(scalar[0]?.problem ?? '', /not a list of targets/);
  });
});

describe('etcd values', () => {
  it('reads { address, weight, metadata } JSON and bare host:port', () => {
    const { targets, problems } = etcdTargets({
      '/s/b': '{"address":"127.0.0.1:9002","weight":3,"metadata":{"zone":"a"}}',
      '/s/a': '127.0.0.1:9001',
    });
    assert.deepEqual(ids(targets), ['127.0.0.1:9001*1', '127.0.0.1:9002*3']);
    assert.deepEqual(problems, []);
  });

  it('skips and names invalid values, keeping the rest', () => {
    const { targets, problems } = etcdTargets({
      '/s/ok': '{"address":"127.0.0.1:9001"}',
      '/s/json': '{"address":',
      '/s/port': '{"address":"127.0.0.1:0"}',
      '/s/extra': '{"address":"127.0.0.1:9003","colour":"red"}',
    });
    assert.deepEqual(ids(targets), ['127.0.0.1:9001*1']);
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /\/s\/json: not valid JSON/);
    assert.match(problems.join('\n'), /\/s\/extra: unknown field colour/);
    assert.match(problems.join('\n'), /\/s\/port: address "127\.0\.0\.1:0": /);
    assert.equal(typeof parseEtcdValue('{"address":"a:1","weight":0}'), 'string');
  });

  it('parses etcd://HOST:PORT/PREFIX', () => {
    assert.deepEqual(parseEtcdUrl('etcd://127.0.0.1:2379/services/api/'), {
      endpoint: 'http://127.0.0.1:2379',
      prefix: '/services/api/',
    });
    assert.deepEqual(parseEtcdUrl('etcd://e:1'), { endpoint: 'http://e:1', prefix: '/' });
    assert.equal(typeof parseEtcdUrl('http://e:1/x'), 'string');
  });
});

describe('DNS answers', () => {
  it('makes one target per address on the port, IPv6 bracketed, sorted and unique', () => {
    const targets = addressTargets(
      [
        { address: '10.0.0.2', ttl: 30 },
        { address: '::1', ttl: 30 },
        { address: '10.0.0.2', ttl: 30 },
        { address: '10.0.0.1', ttl: 30 },
      ],
      8080,
    );
    assert.deepEqual(ids(targets), ['[::1]:8080*1', '10.0.0.1:8080*1', '10.0.0.2:8080*1']);
  });

  it('uses the lowest SRV priority, its ports and weights (0 as 1), names as their addresses', () => {
    const targets = srvTargets(
      [
        { name: 'a.test.', port: 9001, priority: 10, weight: 5 },
        { name: 'b.test', port: 9002, priority: 10, weight: 0 },
        { name: 'backup.test', port: 9003, priority: 20, weight: 100 },
        { name: 'unknown.test', port: 9004, priority: 10, weight: 1 },
      ],
      new Map([
        ['a.test', ['10.0.0.1', '10.0.0.11']],
        ['b.test', ['10.0.0.2']],
      ]),
    );
    assert.deepEqual(ids(targets), [
      '10.0.0.1:9001*5',
      '10.0.0.11:9001*5',
      '10.0.0.2:9002*1',
      'unknown.test:9004*1',
    ]);
    assert.deepEqual(srvTargets([], new Map()), []);
  });

  it('asks again after the interval, or the shortest TTL when sooner, never within 1 s', () => {
    assert.equal(nextDelayMs(5000, []), 5000);
    assert.equal(nextDelayMs(5000, [60, 2]), 2000);
    assert.equal(nextDelayMs(5000, [0]), 1000);
    assert.equal(nextDelayMs(5000, [300]), 5000);
    assert.equal(nextDelayMs(200, [0]), 200);
  });
});

describe('target set changes', () => {
  const t = (id: string, weight = 1): TargetConfig => ({
    id,
    address: { host: id.split(':')[0] ?? '', port: Number(id.split(':')[1]) },
    weight,
  });

  it('names what was added, removed and reweighted', () => {
    assert.deepEqual(targetChanges([t('a:1'), t('b:2')], [t('b:2', 3), t('c:3')]), [
      'b:2 weight 1→3',
      '+c:3',
      '-a:1',
    ]);
    assert.deepEqual(targetChanges([t('a:1')], [t('a:1')]), []);
  });

  it('compares sets by id and weight, in any order', () => {
    assert.ok(sameTargetSet([t('a:1'), t('b:2')], [t('b:2'), t('a:1')]));
    assert.ok(!sameTargetSet([t('a:1')], [t('a:1', 2)]));
    assert.ok(!sameTargetSet([t('a:1')], [t('a:1'), t('b:2')]));
  });
});
