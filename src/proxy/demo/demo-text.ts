/**
 * What the demo tells a user to type: the banner's "try it yourself" lines,
 * the index its HTTP backends answer at `/`, and how to run gw itself
 * (`npx gw` after `npm install`, `gw` once it is on the PATH).
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join, sep } from 'node:path';
import { basePortFlag, DEMO_API_KEY, type DemoPorts } from './demo-config.js';

const HOST = '127.0.0.1';

/** The real path of `file`, or undefined when it cannot be resolved. */
function realPath(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/**
 * How the user runs this gw: `gw` when an executable `gw` on their PATH is
 * this very program (after `npm link` or `npm install -g .`), else `npx gw`
 * (what works after `npm install`). npm's own `node_modules/.bin` entries,
 * which npx and npm scripts put on the PATH, do not count.
 */
export function gwCommand(
  path = process.env.PATH ?? '',
  script: string | undefined = process.argv[1],
): string {
  const self = script === undefined ? undefined : realPath(script);
  if (self === undefined) return 'npx gw';
  for (const dir of path.split(delimiter)) {
    if (dir === '' || dir.endsWith(`node_modules${sep}.bin`)) continue;
    const candidate = join(dir, 'gw');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    return realPath(candidate) === self ? 'gw' : 'npx gw';
  }
  return 'npx gw';
}

/** The commands the demo suggests, each with what it shows (comments aligned). */
export function tryLines(ports: DemoPorts, gw: string): string[] {
  const base = basePortFlag(ports);
  const web = `http://${HOST}:${ports.http}`;
  const rows: [string, string][] = [
    [`curl -s ${web}/api/hello`, 'round-robin: run it again, another backend answers'],
    [`curl -s -H 'x-user: alice' ${web}/sticky/`, 'hash on x-user: same user, same backend'],
    [`${gw} demo call http --path /weighted/hello --count 6${base}`, 'weights 3:2:1'],
    [
      `for i in 1 2 3; do curl -s -o /dev/null -w '%{http_code} ' ${web}/limited/; done`,
      'rate limit 2/s: 200 200 429',
    ],
    [
      `curl -s -H 'x-api-key: ${DEMO_API_KEY}' ${web}/private/`,
      'auth: with the key 200, without it 401',
    ],
    [`${gw} demo call ws --count 3${base}`, 'a WebSocket per call: its hello names the backend'],
    [
      `${gw} demo call grpc --count 6${base}`,
      'gRPC: balanced per call, over one HTTP/2 connection',
    ],
    [`nc ${HOST} ${ports.tcp}`, 'TCP: the banner names the backend; type a line, it echoes'],
  ];
  const width = Math.max(...rows.map(([command]) => command.length));
  return rows.map(([command, what]) => `${command.padEnd(width)}   # ${what}`);
}

/**
 * The text the demo's HTTP backends answer at `/`, reached through the
 * gateway's catch-all route like any other request: what this is and what
 * to try.
 */
export function indexText(ports: DemoPorts, gw: string): string {
  return [
    `gw demo: this answer came through the gateway on ${HOST}:${ports.http} (route "index",`,
    'pathPrefix /) from one of the demo HTTP backends; the x-backend header names which.',
    '',
    `  http  ${HOST}:${ports.http}  /api, /weighted, /sticky, /limited (2 a second), /private (API key), /ws (WebSocket)`,
    `  grpc  ${HOST}:${ports.grpc}  gw.echo.v1.Echo`,
    `  tcp   ${HOST}:${ports.tcp}  byte echo`,
    '',
    'Try:',
    ...tryLines(ports, gw).map((line) => `  ${line}`),
    '',
    `The whole config: ${gw} demo --print-config${basePortFlag(ports)}`,
    '',
  ].join('\n');
}
