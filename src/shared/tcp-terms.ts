/**
 * TCP facts and names that more than one command teaches, said once so that
 * `gw explain` and `gw conns` never disagree. Pure.
 *
 * State names: each command keeps one form on purpose. `gw conns` shows
 * the kernel's names, as netstat, /proc and `ss -o` users meet them
 * (`FIN_WAIT2`, `SYN_RECV`); `gw explain` shows RFC 9293's states
 * (`FIN_WAIT_2`, `SYN_RECEIVED`, written with underscores). Where the two
 * differ, each command gives the other form in parentheses at the first
 * mention only ({@link otherStateName}).
 */

export type Lang = 'en' | 'zh';

/** RFC 9293 state (as `gw explain` writes it) → the kernel's name (as `gw conns` writes it). */
const KERNEL_OF_RFC: Readonly<Record<string, string>> = {
  SYN_RECEIVED: 'SYN_RECV',
  FIN_WAIT_1: 'FIN_WAIT1',
  FIN_WAIT_2: 'FIN_WAIT2',
};

/** The kernel's name → RFC 9293's spelling (with its hyphens, as the RFC prints it). */
const RFC_OF_KERNEL: Readonly<Record<string, string>> = {
  SYN_RECV: 'SYN-RECEIVED',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
};

/**
 * The other command's name of a state, when it differs: for an RFC 9293
 * name (explain) `gw conns: FIN_WAIT2`, for a kernel name (conns)
 * `RFC 9293: FIN-WAIT-2`; undefined when both spell it alike.
 */
export function otherStateName(state: string, from: 'rfc' | 'kernel'): string | undefined {
  if (from === 'rfc') {
    const kernel = KERNEL_OF_RFC[state];
    return kernel === undefined ? undefined : `gw conns/netstat: ${kernel}`;
  }
  const rfc = RFC_OF_KERNEL[state];
  return rfc === undefined ? undefined : `RFC 9293: ${rfc}`;
}

/**
 * How long TIME_WAIT lasts, in one clause: RFC 9293 §3.3.2 says 2×MSL with
 * an MSL of 2 minutes; Linux holds it a fixed 60 s (TCP_TIMEWAIT_LEN in
 * include/net/tcp.h), whatever MSL would say.
 */
export const TIME_WAIT_SPAN: Readonly<Record<Lang, string>> = {
  en: '60 s on Linux, fixed (TCP_TIMEWAIT_LEN); RFC 9293 says 2×MSL with an MSL of 2 minutes',
  zh: 'Linux 上固定 60 秒，即 TCP_TIMEWAIT_LEN；RFC 9293 规定为 2×MSL，其中 MSL 为 2 分钟',
};
