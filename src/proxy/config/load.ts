import { readFile, stat } from 'node:fs/promises';
import { isDocument, LineCounter, type Document } from 'yaml';
import {
  ConfigError,
  configError,
  configNotFound,
  configUnreadable,
  errnoOf,
  type ConfigIssue,
} from '../../shared/errors.js';
import { MAX_NESTING_DEPTH, parseYamlDocument, type ExcessNesting } from './parse-yaml.js';
import { placeIssues, rawIssue, type RawIssue } from './raw-issue.js';
import { parseConfig } from './schema.js';
import { authKeyIssues } from '../middleware/auth/key-files.js';
import type { ProxyConfig, TlsFiles } from './types.js';
import { yamlLocator, type Locator } from './yaml-locator.js';

/**
 * Reads, parses and validates the gateway config at `path`: YAML, or JSON
 * (`.json` or any name), which the YAML 1.2 parser reads as the subset it is,
 * so JSON mistakes get line and column too (a duplicate key is an error),
 * stopping at text nested more than {@link MAX_NESTING_DEPTH} levels (which
 * would exhaust the recursive parser's stack), then checks that every TLS
 * certificate and key it names is a readable PEM file, and every JWT key file a usable key. Throws `GW_ERR_CONFIG_NOT_FOUND` when there is no file, and
 * `GW_ERR_CONFIG` (exit 2) for an unreadable file, the first YAML syntax
 * error, or every invalid setting, each with `file:line:col` and the field's path.
 */
export async function loadConfig(path: string): Promise<ProxyConfig> {
  return loadConfigText(await readConfigFile(path), path);
}

/**
 * Validates config text exactly as {@link loadConfig} validates a file's,
 * TLS and JWT key files included, for text read from elsewhere (an etcd key).
 * `source` names it in messages (`etcd://127.0.0.1:2379/gw/config:3:5: …`);
 * when it is a URL, relative file paths in the config are taken from the
 * process's working directory, as there is no config directory to start from.
 */
export async function loadConfigText(text: string, source: string): Promise<ProxyConfig> {
  const parsed = parseWithLocator(text, source);
  const issues = [
    ...(await tlsIssues(parsed.config, parsed.raw)),
    ...authKeyIssues(parsed.config, parsed.raw),
  ];
  if (issues.length > 0) throw configError(source, placeIssues(issues, parsed.locate));
  return parsed.config;
}

/** Reads a config file's text: GW_ERR_CONFIG_NOT_FOUND when there is none, GW_ERR_CONFIG when unreadable. */
export async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw errnoOf(err) === 'ENOENT' ? configNotFound(path, err) : configUnreadable(path, err);
  }
}

/**
 * Parses and validates config text already in memory (tests, an embedded
 * default config). `source` names it in messages and is the base for relative
 * TLS paths. Does not touch the file system.
 */
export function parseConfigText(text: string, source: string): ProxyConfig {
  return parseWithLocator(text, source).config;
}

interface Parsed {
  readonly config: ProxyConfig;
  readonly raw: unknown;
  readonly locate: Locator;
}

function parseWithLocator(text: string, source: string): Parsed {
  const lineCounter = new LineCounter();
  const syntax = (message: string, offset: number): ConfigIssue => {
    const { line, col } = lineCounter.linePos(offset);
    return {
      kind: 'syntax',
      path: '',
      problem: `YAML syntax error: ${message}`,
      line,
      column: col,
    };
  };
  let doc: Document.Parsed | ExcessNesting;
  let raw: unknown;
  try {
    doc = parseYamlDocument(text, lineCounter);
    if (!isDocument(doc)) throw configError(source, [tooDeep(doc)]);
    // Only the first: after one syntax error (a wrong indent, say) the parser is lost,
    // and the errors it reports next follow from the first, not from the text.
    const [first] = doc.errors;
    if (first !== undefined) throw configError(source, [syntax(first.message, first.pos[0])]);
    // Throws on alias bombs ("billion laughs"): too many aliases expanded.
    raw = doc.toJS();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // The parser's own limits (alias expansion, and the call stack should a
    // text get past the nesting check): still a bad config, never a crash.
    const reason = err instanceof Error ? err.message : String(err);
    const problem =
      err instanceof RangeError ? `too deeply nested or too large to parse (${reason})` : reason;
    throw configError(source, [syntax(problem, 0)]);
  }
  const locate = yamlLocator(doc, lineCounter);
  return { config: parseConfig(raw, source, locate), raw, locate };
}

function tooDeep(excess: ExcessNesting): ConfigIssue {
  return {
    kind: 'invalid',
    path: '',
    problem: `nested more than ${MAX_NESTING_DEPTH} levels deep`,
    allowed: `at most ${MAX_NESTING_DEPTH} levels of mappings and lists inside each other; a gw config needs about 8`,
    line: excess.line,
    column: excess.column,
  };
}

const PEM = {
  cert: { label: /-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/, what: 'a PEM certificate' },
  key: { label: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, what: 'a PEM private key' },
} as const;

/** Problems with the TLS files of every listener, found before any port is opened. */
async function tlsIssues(config: ProxyConfig, raw: unknown): Promise<RawIssue[]> {
  const checks = config.listeners.flatMap((listener, i) => {
    if (listener.protocol === 'tcp' || listener.tls === undefined) return [];
    const tls: TlsFiles = listener.tls;
    return (['cert', 'key'] as const).map(async (kind) => {
      const problem = await pemProblem(tls[kind], kind);
      return problem === undefined
        ? undefined
        : rawIssue(raw, ['listeners', i, 'tls', kind], problem, {
            kind: 'file',
            allowed: `${PEM[kind].what} file; ${relativeTo(config.source)}`,
          });
    });
  });
  const found = await Promise.all(checks);
  return found.filter((issue): issue is RawIssue => issue !== undefined);
}

/** Where a relative path in a config from `source` starts, for messages. */
function relativeTo(source: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(source)
    ? 'relative paths start at the working directory of gw (the config is not a file)'
    : "relative paths start at the config file's directory";
}

/** What is wrong with a PEM file, or undefined when it is a readable file of the right kind. */
async function pemProblem(path: string, kind: 'cert' | 'key'): Promise<string | undefined> {
  try {
    if (!(await stat(path)).isFile()) return `${path} is not a file`;
    const text = await readFile(path, 'utf8');
    return PEM[kind].label.test(text) ? undefined : `${path} holds no ${PEM[kind].what}`;
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return `no such file: ${path}`;
    if (code === 'EACCES' || code === 'EPERM') return `cannot read ${path}: permission denied`;
    return `cannot read ${path}: ${code ?? String(err)}`;
  }
}
