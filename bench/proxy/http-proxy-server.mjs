// node-http-proxy (the `http-proxy` npm package) as a reference proxy, with a
// keep-alive agent towards the upstream (without one it opens a connection per
// request). The package is not a dependency of gw: it is loaded from DEPS_DIR,
// where `npm install --prefix DEPS_DIR http-proxy` put it. WebSocket upgrades go
// through `proxy.ws` (its own socket-to-socket pipe).
//   node bench/proxy/http-proxy-server.mjs PORT UPSTREAM_HOST:PORT DEPS_DIR
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const [port, upstream, depsDir] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(depsDir), 'package.json'));
const httpProxy = require('http-proxy');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://${upstream}`, agent });
proxy.on('error', (_err, _req, res) => {
  // For a WebSocket `res` is the client's socket.
  if (typeof res.writeHead !== 'function') return res.destroy();
  if (res.headersSent === false) res.writeHead(502);
  res.end();
});
http
  .createServer((req, res) => proxy.web(req, res))
  .on('upgrade', (req, socket, head) => proxy.ws(req, socket, head))
  .listen(Number(port), '127.0.0.1', () => console.log(`listening ${port}`));
