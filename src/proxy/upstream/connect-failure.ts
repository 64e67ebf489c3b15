import { GwError } from '../../shared/errors.js';

/**
 * A failure to connect to a target (refused, unreachable, or not connected
 * within `connectMs`): nothing was sent, so the exchange may go to another
 * target whatever it is. Carries the code and statuses of the GwError it wraps.
 */
export class ConnectFailure extends GwError {
  constructor(error: GwError, cause?: unknown) {
    super(error.code, error.message, {
      cause: cause ?? error.cause,
      httpStatus: error.httpStatus,
      grpcStatus: error.grpcStatus,
      exitCode: error.exitCode,
    });
  }
}
