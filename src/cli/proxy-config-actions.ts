import { EtcdConfigSource } from '../proxy/config/etcd-config-source.js';
import { etcdConfigSpec } from '../proxy/config/etcd-config-spec.js';
import { loadConfigText, readConfigFile } from '../proxy/config/load.js';
import { routingTable, routingTableJson } from '../proxy/config/routing-table.js';
import type { ProxyFlags } from './proxy.js';

/*
 * The work behind `gw proxy config put|get` and `gw proxy --config etcd://…`,
 * imported only when it runs.
 */

/**
 * `gw proxy config put etcd://… FILE`: validates FILE exactly as
 * `gw proxy --check --config FILE` does (the same errors, exit 2, nothing
 * written), then writes its text, as it is, to the key. Text the key already
 * holds is not written again (a new revision would make every gateway reload
 * for nothing).
 */
export async function runConfigPut(url: string, file: string): Promise<void> {
  const source = new EtcdConfigSource(etcdConfigSpec(url, 'URL'));
  try {
    // Read once: what is validated is what is published.
    const text = await readConfigFile(file);
    await loadConfigText(text, file);
    const { revision, written } = await source.put(text);
    process.stdout.write(
      written
        ? `put ${source.label}: ${revision}\n`
        : `${source.label} already holds this config (${revision}); nothing written\n`,
    );
  } finally {
    await source.close();
  }
}

/**
 * `gw proxy config get etcd://…`: the key's text on stdout, as stored (so
 * `> gw.yaml` saves it), and its revision on stderr. Does not validate.
 */
export async function runConfigGet(url: string): Promise<void> {
  const source = new EtcdConfigSource(etcdConfigSpec(url, 'URL'));
  try {
    const read = await source.read();
    if (read.text === undefined) throw source.missing('the key is not set');
    process.stdout.write(
      read.text.endsWith('\n') || read.text === '' ? read.text : `${read.text}\n`,
    );
    process.stderr.write(`${source.label}: etcd rev ${read.modRevision}\n`);
  } finally {
    await source.close();
  }
}

/**
 * `gw proxy --config etcd://…`: with `--check`, loads the key's config,
 * validates it as a file is validated and prints the routing table; without,
 * serves the revision it loaded. (Following later revisions is the reloader's
 * job; the caller that wires it takes the source from `config-source-for.ts`.)
 */
export async function runProxyFromEtcd(flags: ProxyFlags): Promise<void> {
  const source = new EtcdConfigSource(etcdConfigSpec(flags.config, '--config'));
  let first;
  try {
    first = await source.load();
  } finally {
    await source.close();
  }
  const { config, revision } = first;
  if (flags.check === true) {
    if (flags.json === true) process.stdout.write(`${JSON.stringify(routingTableJson(config))}\n`);
    else
      process.stdout.write(
        `${routingTable(config).join('\n')}\n${config.source}: config OK (${revision})\n`,
      );
    return;
  }
  process.stdout.write(`config ${source.label} at ${revision}\n`);
  const { serve } = await import('./proxy-actions.js');
  await serve(config, flags.quiet === true);
}
