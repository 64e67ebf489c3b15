/** The Host header (or :authority) without its port, lower case: `[::1]:8080` → `::1`. */
export function hostOf(host: string | undefined): string {
  if (host === undefined) return '';
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return (end < 0 ? host.slice(1) : host.slice(1, end)).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}
