import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The folder of gw's .proto files. This module lives two levels below the
 * package root both as `src/backend/echo-proto.ts` (tsx) and as
 * `dist/backend/echo-proto.js` (built), so one relative URL serves both.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** Full name of the echo service. */
export const ECHO_SERVICE = 'gw.echo.v1.Echo';
/** Full name of the standard health service. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** A request of `gw.echo.v1.Echo`, as proto-loader presents it (camelCase fields). */
export interface EchoRequest {
  message?: string;
  /** ServerStream: how many replies (0 counts as 1). */
  count?: number;
  /** Extra delay before each reply, in ms. */
  delayMs?: number;
  /** Non-zero: the call ends with this gRPC status code. */
  failCode?: number;
}

/** A reply of `gw.echo.v1.Echo`. */
export interface EchoReply {
  message: string;
  /** The backend's name. */
  backend: string;
  index: number;
  /** Request metadata as the backend received it (binary `-bin` values base64). */
  metadata: Record<string, string>;
}

/** The loaded definitions: service definitions and client constructors. */
export interface EchoProto {
  echo: grpc.ServiceClientConstructor;
  health: grpc.ServiceClientConstructor;
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let loaded: EchoProto | undefined;

/**
 * Loads `proto/echo.proto` and `proto/health.proto` with
 * @grpc/proto-loader (camelCase fields, longs and enums as strings,
 * defaults filled in), once per process.
 */
export function echoProto(): EchoProto {
  if (loaded !== undefined) return loaded;
  const definition = protoLoader.loadSync(['echo.proto', 'health.proto'], LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(definition);
  loaded = {
    echo: lookup(root, ECHO_SERVICE),
    health: lookup(root, HEALTH_SERVICE),
  };
  return loaded;
}

function lookup(root: grpc.GrpcObject, fullName: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of fullName.split('.')) {
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'function') throw new Error(`${fullName} is missing from the proto files`);
  return node as grpc.ServiceClientConstructor;
}
