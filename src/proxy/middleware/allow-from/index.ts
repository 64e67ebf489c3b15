import { cidrMatcher } from '../../../shared/cidr-matcher.js';
import { forbidden } from '../../../shared/errors.js';
import type { BaseExchange, Handler } from '../../pipeline/types.js';
import { defineFeature } from '../feature.js';
import { allowFromSchema, type AllowFromSettings } from './schema.js';

/**
 * `allowFrom`: only clients whose address is in the list get through. On a
 * route, others get 403 (gRPC PERMISSION_DENIED, a WebSocket upgrade 403
 * before any target is asked); on a tcp listener their connection is reset.
 * The address is the one the gateway trusts (`trustedProxies` applies).
 */
export const allowFrom = defineFeature<AllowFromSettings>({
  key: 'allowFrom',
  places: ['route', 'tcp'],
  schema: allowFromSchema,
  build(settings) {
    const allowed = cidrMatcher(settings);
    const middleware = <E extends BaseExchange>(next: Handler<E>): Handler<E> => {
      return (ex) =>
        allowed(ex.clientIp)
          ? next(ex)
          : Promise.reject(forbidden(`client ${ex.clientIp} is not in allowFrom`));
    };
    return { route: middleware, tcp: middleware };
  },
  describe: (settings) => `allow ${settings.join(',')}`,
  toJson: (settings) => [...settings],
});
