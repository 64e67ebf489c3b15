import { ConfigError } from '../../../shared/errors.js';
import { rawIssue, type RawIssue } from '../../config/raw-issue.js';
import type { ProxyConfig } from '../../config/types.js';
import { loadJwtKey } from './jwt.js';
import type { AuthSettings } from './schema.js';

/**
 * Problems with the JWT key files routes name (missing, unreadable, no key),
 * found when the config is loaded and by `gw proxy --check`, before any port
 * is opened, as TLS files are. The gateway reads them again when it builds
 * the route (a reload reads them afresh).
 */
export function authKeyIssues(config: ProxyConfig, raw: unknown): RawIssue[] {
  const issues: RawIssue[] = [];
  config.listeners.forEach((listener, i) => {
    if (listener.protocol === 'tcp') return;
    listener.routes.forEach((route, j) => {
      const settings = route.features.get('auth') as AuthSettings | undefined;
      if (settings?.type !== 'jwt' || settings.secret !== undefined) return;
      try {
        loadJwtKey(settings, config.source, `route ${route.name}`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const field = settings.publicKeyFile !== undefined ? 'publicKeyFile' : 'jwksFile';
        const [issue] = err.issues;
        issues.push(
          rawIssue(raw, ['listeners', i, 'routes', j, 'auth', field], issue?.problem ?? '', {
            kind: 'file',
            allowed: issue?.allowed,
          }),
        );
      }
    });
  });
  return issues;
}
