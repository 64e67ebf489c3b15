import type { TcpState } from '../../../src/conns/states.js';
import type { ConnSocket } from '../../../src/conns/types.js';

/** A socket record for unit tests: `sock('CLOSE_WAIT', '127.0.0.1:8080', '10.0.0.7:5555', {...})`. */
export function sock(
  state: TcpState,
  local: string,
  remote: string,
  extra: Partial<ConnSocket> = {},
): ConnSocket {
  const split = (e: string) => {
    const colon = e.lastIndexOf(':');
    return { address: e.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(e.slice(colon + 1)) };
  };
  const l = split(local);
  return {
    proto: 'tcp',
    family: l.address.includes(':') ? 6 : 4,
    state,
    local: l,
    remote: split(remote),
    recvQ: 0,
    sendQ: 0,
    timer: null,
    retransmits: 0,
    probes: 0,
    uid: 1000,
    inode: 1,
    ...extra,
  };
}

/** `n` sockets made by `make(i)`. */
export function many(n: number, make: (i: number) => ConnSocket): ConnSocket[] {
  return Array.from({ length: n }, (_, i) => make(i));
}
