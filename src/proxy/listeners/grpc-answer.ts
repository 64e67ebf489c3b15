import { replyOf } from './local-reply.js';
import { answerStatus, type GrpcExchange } from '../upstream/forward-grpc.js';

/**
 * The grpc listener's local reply: a trailers-only response (HTTP 200, or
 * 405 with `allow: POST` for a method that is not POST) with the reply's gRPC
 * status (`GwError.grpcStatus`: timeouts DEADLINE_EXCEEDED, no route
 * UNIMPLEMENTED, a refused request INTERNAL as gRPC maps HTTP 400, forbidden
 * PERMISSION_DENIED, the rest UNAVAILABLE), its code in `x-gw-error`, and the
 * exchange's reply fields. gRPC clients read the status, never an HTTP page.
 */
export function answerGrpc(ex: GrpcExchange, err: unknown): void {
  const reply = replyOf(err);
  if (reply.httpStatus === 405) {
    // gRPC over HTTP/2: a client reads a bare 405 as UNKNOWN; with the status it learns why.
    answerStatus(ex, reply.grpcStatus, reply, '405', ['allow', 'POST']);
    return;
  }
  answerStatus(ex, reply.grpcStatus, reply);
}
