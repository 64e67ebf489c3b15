import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigRevision } from '../../../src/proxy/config/config-source.js';
import { FileConfigSource } from '../../../src/proxy/config/file-config-source.js';
import { ConfigError, isGwError, type GwError } from '../../../src/shared/errors.js';
import { makeCert } from '../../helpers/proxy.js';
import { sleep, until } from '../../helpers/wait.js';

const config = (targets: string, extra = '') => `listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ upstream: app }]${extra} }
upstreams:
  - { name: app, targets: [${targets}] }
`;

describe('FileConfigSource', () => {
  let dir: string;
  let file: string;
  const sources: FileConfigSource[] = [];
  /** Written aside and renamed in, as editors and config tools do. */
  const replace = (text: string): void => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  const source = (): FileConfigSource => {
    const s = new FileConfigSource(file, { debounceMs: 50 });
    sources.push(s);
    return s;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-file-source-'));
    file = join(dir, 'gw.yaml');
  });

  after(async () => {
    await Promise.all(sources.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a revision by the digest of the content: the same bytes, the same revision', async () => {
    writeFileSync(file, config('"127.0.0.1:9001"'));
    const a = await source().load();
    assert.match(a.revision, /^sha256:[0-9a-f]{12}$/);
    assert.equal(a.config.upstreams.get('app')?.targets[0]?.id, '127.0.0.1:9001');
    replace(config('"127.0.0.1:9001"'));
    assert.equal((await source().load()).revision, a.revision);
    writeFileSync(file, config('"127.0.0.1:9002"'));
    assert.notEqual((await source().load()).revision, a.revision);
  });

  it('a renewed TLS certificate is a new revision of the same config text', async () => {
    const first = makeCert(dir, 'one');
    const tls = `, tls: { cert: ${first.cert}, key: ${first.key} }`;
    writeFileSync(file, config('"127.0.0.1:9001"', tls));
    const before = await source().load();
    const renewed = makeCert(dir, 'two');
    renameSync(renewed.cert, first.cert);
    renameSync(renewed.key, first.key);
    assert.notEqual((await source().load()).revision, before.revision);
  });

  it('throws the config error, with the field’s path, for a bad file', async () => {
    writeFileSync(file, config('"127.0.0.1:99999"'));
    await assert.rejects(source().load(), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(
        err.issues.map((i) => i.path),
        ['upstreams[0].targets[0]'],
      );
      return true;
    });
  });

  it('watches: a file replaced by rename is read once after the burst of changes; a bad one is reported invalid; the same content again is no news', async () => {
    writeFileSync(file, config('"127.0.0.1:9001"'));
    const s = source();
    const first = await s.load();
    const revisions: ConfigRevision[] = [];
    const invalid: { error: GwError; revision: string | undefined }[] = [];
    const stop = s.watch({
      revision: (r) => revisions.push(r),
      invalid: (error, revision) => invalid.push({ error, revision }),
    });
    try {
      // A burst of writes: only the last content is read.
      for (const port of [9002, 9003, 9004]) replace(config(`"127.0.0.1:${port}"`));
      await until(() => revisions.length > 0, 4000, 'a revision');
      await sleep(200);
      assert.equal(revisions.length, 1);
      assert.notEqual(revisions[0]?.revision, first.revision);
      assert.equal(revisions[0]?.config.upstreams.get('app')?.targets[0]?.id, '127.0.0.1:9004');

      replace(config('"127.0.0.1:99999"'));
      await until(() => invalid.length > 0, 4000, 'an invalid report');
      const [bad] = invalid;
      assert.ok(isGwError(bad?.error, 'GW_ERR_CONFIG'));
      assert.match(String(bad.revision), /^sha256:/);

      // Touched without a change: nothing reported.
      replace(config('"127.0.0.1:99999"'));
      await sleep(300);
      assert.equal(invalid.length, 1);
      assert.equal(revisions.length, 1);

      // Written in place (not renamed) is seen as well.
      writeFileSync(file, config('"127.0.0.1:9005"'));
      await until(() => revisions.length === 2, 4000, 'the second revision');
    } finally {
      stop();
    }
    // Stopped: no more reports.
    replace(config('"127.0.0.1:9006"'));
    await sleep(300);
    assert.equal(revisions.length, 2);
  });
});
