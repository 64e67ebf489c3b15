import * as grpc from '@grpc/grpc-js';
import { echoProto, type EchoReply, type EchoRequest } from './echo-proto.js';

export type { EchoReply, EchoRequest } from './echo-proto.js';

/**
 * A @grpc/grpc-js client of `gw.echo.v1.Echo`, typed. grpc-js also offers
 * each method in camelCase (`unary`, `serverStream`, ...).
 */
export interface EchoClient extends grpc.Client {
  Unary(
    request: EchoRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<EchoReply>,
  ): grpc.ClientUnaryCall;
  Unary(
    request: EchoRequest,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<EchoReply>,
  ): grpc.ClientUnaryCall;
  Unary(request: EchoRequest, callback: grpc.requestCallback<EchoReply>): grpc.ClientUnaryCall;
  ServerStream(
    request: EchoRequest,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<EchoReply>;
  ClientStream(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<EchoReply>,
  ): grpc.ClientWritableStream<EchoRequest>;
  ClientStream(
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<EchoReply>,
  ): grpc.ClientWritableStream<EchoRequest>;
  ClientStream(callback: grpc.requestCallback<EchoReply>): grpc.ClientWritableStream<EchoRequest>;
  Bidi(
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<EchoRequest, EchoReply>;
}

/** A @grpc/grpc-js client of the standard `grpc.health.v1.Health` service. */
export interface HealthClient extends grpc.Client {
  Check(
    request: { service?: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<{ status: string }>,
  ): grpc.ClientUnaryCall;
  Check(
    request: { service?: string },
    callback: grpc.requestCallback<{ status: string }>,
  ): grpc.ClientUnaryCall;
}

/**
 * Builds a client of the echo service at `address` (`host:port`): cleartext
 * HTTP/2 by default, or TLS with the given credentials. The caller closes it
 * with `client.close()`.
 */
export function echoClient(
  address: string,
  options: grpc.ChannelOptions = {},
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): EchoClient {
  const { echo } = echoProto();
  return new echo(address, credentials, options) as unknown as EchoClient;
}

/** Builds an insecure client of `grpc.health.v1.Health` at `address` (`host:port`). */
export function healthClient(address: string, options: grpc.ChannelOptions = {}): HealthClient {
  const { health } = echoProto();
  return new health(address, grpc.credentials.createInsecure(), options) as unknown as HealthClient;
}
