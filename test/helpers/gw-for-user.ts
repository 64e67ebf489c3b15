/**
 * Running the built `gw` as another user, wherever the checkout sits. A clone in a
 * directory other users cannot enter (a 0700 home such as /root, a `mktemp -d`
 * folder) hides bin/gw.js from them; such a test then runs from a copy of what gw
 * needs at run time, made readable in the system's temporary directory.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GW_BIN } from './cli.js';

/** The checkout: bin/gw.js's parent folder. */
const ROOT = path.dirname(path.dirname(GW_BIN));

/** Where another user runs gw from, and how to remove a copy made for it. */
export interface GwPlace {
  bin: string;
  /** Set when `bin` is in a copy: a folder that user can enter. */
  cwd?: string;
  /** Whether `bin` is in a copy rather than this checkout. */
  copied: boolean;
  cleanup: () => Promise<void>;
}

/**
 * Finds a gw that user `uid` can run: this checkout when it can, else a
 * readable copy. Resolves with `{ skip }`, the reason, when neither works (node
 * itself out of that user's reach, a private temporary directory). Root only.
 */
export async function gwForUser(uid: number): Promise<GwPlace | { skip: string }> {
  const here = await probe(uid, GW_BIN, undefined);
  if (here === undefined) return { bin: GW_BIN, copied: false, cleanup: () => Promise.resolve() };
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-as-user-'));
  const cleanup = (): Promise<void> => fs.rm(dir, { recursive: true, force: true });
  try {
    await copyRuntime(dir);
    await openUp(dir);
    const bin = path.join(dir, 'bin', 'gw.js');
    const there = await probe(uid, bin, dir);
    if (there === undefined) return { bin, cwd: dir, copied: true, cleanup };
    await cleanup();
    return {
      skip: `uid ${uid} can run gw neither from ${ROOT} (${here}) nor from a copy (${there})`,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Runs `gw conns --help` (commander and dist/ load) as `uid`: undefined if it works, else why not. */
function probe(uid: number, bin: string, cwd: string | undefined): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'conns', '--help'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      uid,
      gid: uid,
      ...(cwd === undefined ? {} : { cwd }),
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(`${process.execPath}: ${err.message}`);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // Node's own first lines are the source excerpt; the error line says what failed.
      const lines = stderr.split('\n').map((l) => l.trim());
      const why = lines.find((l) => /^(\w+)?Error\b/.test(l)) ?? lines.find((l) => l !== '') ?? '';
      resolve(code === 0 ? undefined : `exit ${String(code)}: ${why}`);
    });
  });
}

/** Copies bin/, dist/, package.json and the production dependencies into `dir`. */
async function copyRuntime(dir: string): Promise<void> {
  for (const name of ['bin', 'dist', 'package.json']) {
    await fs.cp(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  for (const pkg of await productionPackages()) {
    const to = path.join(dir, path.relative(ROOT, pkg));
    await fs.cp(pkg, to, { recursive: true, dereference: true });
  }
}

/**
 * The folders under node_modules/ that the dependencies of package.json need,
 * found as Node resolves them (the nearest node_modules upwards). Packages nested
 * in another one's node_modules/ come with it, so only top-level ones are listed.
 */
async function productionPackages(): Promise<string[]> {
  const topLevel = new Set<string>();
  const seen = new Set<string>();
  const queue: { name: string; from: string }[] = (await dependencies(ROOT)).map((name) => ({
    name,
    from: ROOT,
  }));
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const dir = await resolvePackage(item.name, item.from);
    if (dir === undefined || seen.has(dir)) continue; // an optional dependency not installed
    seen.add(dir);
    const rel = path.relative(path.join(ROOT, 'node_modules'), dir);
    if (!rel.split(path.sep).includes('node_modules')) topLevel.add(dir);
    for (const name of await dependencies(dir)) queue.push({ name, from: dir });
  }
  return [...topLevel];
}

async function dependencies(dir: string): Promise<string[]> {
  const text = await fs.readFile(path.join(dir, 'package.json'), 'utf8');
  const json = JSON.parse(text) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  return [...Object.keys(json.dependencies ?? {}), ...Object.keys(json.optionalDependencies ?? {})];
}

async function resolvePackage(name: string, from: string): Promise<string | undefined> {
  for (let dir = from; dir.startsWith(ROOT); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    try {
      await fs.access(path.join(candidate, 'package.json'));
      return candidate;
    } catch {
      if (dir === ROOT) return undefined;
    }
  }
  return undefined;
}

/** Lets everyone read `dir` and everything under it, and enter its folders (a umask of 077 hides them). */
async function openUp(dir: string): Promise<void> {
  await fs.chmod(dir, ((await fs.stat(dir)).mode & 0o7777) | 0o555);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await openUp(full);
    else if (entry.isFile()) await fs.chmod(full, ((await fs.stat(full)).mode & 0o7777) | 0o444);
  }
}
