export interface EtcdUrl {
  /** `http://host:port`. */
  readonly endpoint: string;
  /** The key prefix, `/` when the URL has no path. */
  readonly prefix: string;
}

/** `etcd://host:port/prefix` as endpoint and prefix (for `--register`), or what is wrong. */
export function parseEtcdUrl(url: string): EtcdUrl | string {
  const match = /^etcd:\/\/([^/\s]+)(\/\S*)?$/.exec(url);
  if (match === null) return 'not an etcd URL (allowed: etcd://HOST:PORT/PREFIX)';
  const prefix = match[2] ?? '/';
  return { endpoint: `http://${match[1] ?? ''}`, prefix };
}
