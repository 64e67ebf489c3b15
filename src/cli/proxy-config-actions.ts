import { EtcdConfigSource } from '../proxy/config/etcd-config-source.js';
import { etcdConfigSpec } from '../proxy/config/etcd-config-spec.js';
import { loadConfigText, readConfigFile } from '../proxy/config/load.js';

/*
 * The work behind `gw proxy config put|get`,
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
