import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/cli/commands.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
const DOCS = readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

/** Markdown links `[text](target)` that point at a file, not a web page or an anchor. */
function fileLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target) && !target.startsWith('#'))
    .map((target) => target.replace(/#.*$/, ''));
}

describe('README and docs/', () => {
  it('need nothing outside the repository: no ../shared, every file link resolves inside it', () => {
    for (const file of ['README.md', '.ci/run', ...DOCS]) {
      const text = read(file);
      assert.doesNotMatch(text, /\.\.\/shared/, file);
      for (const target of fileLinks(text)) {
        const resolved = path.resolve(ROOT, path.dirname(file), target);
        assert.ok(resolved.startsWith(ROOT), `${file}: ${target} leaves the repository`);
        assert.ok(existsSync(resolved), `${file}: ${target} does not exist`);
      }
    }
  });

  it('link the README to what each command teaches and to the architecture', () => {
    const readme = read('README.md');
    assert.ok(DOCS.includes('docs/teaching.md') && DOCS.includes('docs/architecture.md'));
    assert.ok(fileLinks(readme).includes('docs/teaching.md'));
    assert.ok(fileLinks(readme).includes('docs/architecture.md'));
  });

  it('list every gw command in the README’s command table and in docs/teaching.md', () => {
    const table = read('README.md').split('## Commands')[1]?.split('\n## ')[0] ?? '';
    const teaching = read('docs/teaching.md');
    for (const { name } of COMMANDS) {
      assert.match(table, new RegExp(`^\\| \`gw ${name}[ \`]`, 'm'), `gw ${name} in the table`);
      assert.match(teaching, new RegExp(`^## gw ${name}\\b`, 'm'), `gw ${name} in teaching.md`);
    }
  });

  it('show how to run gw after npm install: npx gw, and npm link for gw on the PATH', () => {
    const setUp = read('README.md').split('## Set-up')[1]?.split('\n## ')[0] ?? '';
    assert.match(setUp, /npx gw/);
    assert.match(setUp, /npm link/);
  });
});
