/*
 * Experiment, not part of gw: an LD_PRELOAD shim that sets TCP_QUICKACK on a
 * socket after every successful read(2)/readv(2) of the process, to test
 * whether the 40 ms tails of the http-64k section are delayed ACKs on the
 * proxy's upstream connections (Node cannot set TCP_QUICKACK itself).
 *
 *   gcc -shared -fPIC -O2 -o /tmp/quickack.so bench/proxy/experiments/quickack.c -ldl
 *   LD_PRELOAD=/tmp/quickack.so node --no-memory-reducer bin/gw.js proxy --config gw.yaml
 *
 * setsockopt on a descriptor that is not a TCP socket fails harmlessly.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
ssize_t read(int fd, void *buf, size_t n) {
  if (!real_read) real_read = dlsym(RTLD_NEXT, "read");
  ssize_t r = real_read(fd, buf, n);
  if (r > 0) { int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one); }
  return r;
}
ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  if (!real_readv) real_readv = dlsym(RTLD_NEXT, "readv");
  ssize_t r = real_readv(fd, iov, cnt);
  if (r > 0) { int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one); }
  return r;
}
