// A tiny HTTP/1.1 upstream for bench/proxy (used with --backend node): every
// request gets the same preallocated body, no per-request generation, no log.
//   node bench/proxy/tiny-backend.mjs PORT BYTES
import http from 'node:http';

const port = Number(process.argv[2] ?? 0);
const size = Number(process.argv[3] ?? 100);
const body = Buffer.alloc(size, 'x');
const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };

const server = http.createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
  req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
