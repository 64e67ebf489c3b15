/**
 * Choosing a {@link ConfigSource} for `--config SPEC`. This module knows the
 * etcd half; a file spec gets the file source (`file-config-source.ts`),
 * which the caller chooses with {@link isEtcdConfigSpec}:
 *
 * ```ts
 * const source = isEtcdConfigSpec(spec) ? etcdConfigSource(spec, { log }) : new FileConfigSource(spec);
 * ```
 */
import type { ConfigSource } from './config-source.js';
import { EtcdConfigSource, type EtcdConfigSourceOptions } from './etcd-config-source.js';
import { etcdConfigSpec } from './etcd-config-spec.js';

export { isEtcdConfigSpec } from './etcd-config-spec.js';

/**
 * The source for `--config etcd://HOST:PORT[,HOST:PORT…]/KEY`; throws
 * GW_ERR_INVALID_ARGUMENT (exit 2) for a malformed spec. Nothing connects
 * until `load` or `watch`.
 */
export function etcdConfigSource(
  spec: string,
  options: EtcdConfigSourceOptions = {},
): ConfigSource {
  return new EtcdConfigSource(etcdConfigSpec(spec, '--config'), options);
}
