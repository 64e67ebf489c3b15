import { runExplain } from '../../src/explain/run-explain.js';
import type { PacketJson } from '../../src/explain/render/json.js';

/** `gw explain --json FILE` in process: one parsed object per packet, in order. */
export async function explainJson(file: string): Promise<PacketJson[]> {
  const out: PacketJson[] = [];
  await runExplain({
    file,
    json: true,
    summary: false,
    conn: undefined,
    lang: 'en',
    color: false,
    write: (text) => out.push(JSON.parse(text) as PacketJson),
  });
  return out;
}
