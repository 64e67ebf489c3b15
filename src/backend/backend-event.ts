import type { BackendKind } from './backend-options.js';
import { formatHostPort } from '../shared/format.js';

/** What a backend reports: where it listens, and one event per request, call or connection. */
export type BackendEvent =
  | {
      type: 'listening';
      kind: BackendKind;
      backend: string;
      host: string;
      port: number;
    }
  | {
      /** An HTTP request answered (or a WebSocket upgrade refused). */
      type: 'request';
      kind: BackendKind;
      backend: string;
      peer: string;
      method: string;
      path: string;
      status: number;
      /** True when the answer is a failure injected by `failRate`. */
      injected: boolean;
    }
  | {
      /** A gRPC call finished, with its status code. */
      type: 'call';
      kind: 'grpc';
      backend: string;
      peer: string;
      method: string;
      code: number;
      messagesIn: number;
      messagesOut: number;
      injected: boolean;
    }
  | {
      /** A WebSocket or TCP connection opened. */
      type: 'open';
      kind: 'ws' | 'tcp';
      backend: string;
      peer: string;
      path?: string;
    }
  | {
      /** A WebSocket or TCP connection closed: messages (ws) or bytes (tcp) echoed. */
      type: 'close';
      kind: 'ws' | 'tcp';
      backend: string;
      peer: string;
      echoed: number;
      /** ws close code, `reset` for an injected TCP reset, `closed` otherwise. */
      reason: string;
      injected: boolean;
    };

/** One short human line for an event (the text output of `gw backend`). */
export function describeBackendEvent(event: BackendEvent): string {
  const mark = 'injected' in event && event.injected ? ' (injected failure)' : '';
  switch (event.type) {
    case 'listening':
      return `backend ${event.backend} (${event.kind}) listening on ${formatHostPort(event.host, event.port)}`;
    case 'request':
      return `${event.peer} ${event.method} ${event.path} → ${event.status}${mark}`;
    case 'call':
      return `${event.peer} ${event.method} → status ${event.code} (${event.messagesIn} in, ${event.messagesOut} out)${mark}`;
    case 'open':
      return `${event.peer} connected${event.path === undefined ? '' : ` to ${event.path}`}`;
    case 'close': {
      const unit = event.kind === 'tcp' ? 'bytes' : 'messages';
      return `${event.peer} closed (${event.reason}) after ${event.echoed} ${unit} echoed${mark}`;
    }
  }
}
