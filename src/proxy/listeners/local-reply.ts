import { toGwError } from '../../shared/errors.js';
import { asLocalReply, type LocalReply } from '../pipeline/types.js';

/**
 * The reply a thrown value asks for, for every listener's writer: a
 * LocalReply as it is (a GwError, a configured reply such as a degraded
 * route's fallback), anything else a 500 GW_ERR_INTERNAL.
 */
export function replyOf(err: unknown): LocalReply {
  return asLocalReply(err) ?? toGwError(err);
}
