import type { BackendKind, RunningBackend } from './backend-options.js';
import { startGrpcBackend } from './grpc-backend.js';
import { startHttpBackend, type HttpBackendOptions } from './http-backend.js';
import { startTcpBackend, type TcpBackendOptions } from './tcp-backend.js';
import { startWsBackend } from './ws-backend.js';

/**
 * Starts a demo upstream of the given kind (what `gw backend KIND` and
 * `gw demo` run). `banner` applies to tcp only and is ignored by the others.
 * Rejects with GW_ERR_INVALID_ARGUMENT for bad options and
 * GW_ERR_PORT_IN_USE / GW_ERR_LISTEN when the port cannot be bound.
 */
export function startBackend(
  kind: BackendKind,
  options: TcpBackendOptions & HttpBackendOptions,
): Promise<RunningBackend> {
  switch (kind) {
    case 'http':
      return startHttpBackend(options);
    case 'ws':
      return startWsBackend(options);
    case 'grpc':
      return startGrpcBackend(options);
    case 'tcp':
      return startTcpBackend(options);
  }
}
