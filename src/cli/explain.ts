import { Command, Option } from 'commander';
import { configureCommand, parseCommand } from './commander-setup.js';

const EXAMPLES = `
Examples:
  sudo tcpdump -i lo -U --immediate-mode -w cap.pcap 'tcp port 8080'   # capture; Ctrl-C when done, then:
  gw explain cap.pcap                     # every packet, explained
  gw explain cap.pcap --lang zh           # 中文讲解：三次握手、四次挥手、重传、窗口
  gw explain cap.pcap --summary           # one row per connection
  gw explain cap.pcap --conn 2 --json     # NDJSON for connection 2
  tcpdump -nn -r cap.pcap | gw explain -  # tcpdump's text output works too

Inputs: pcap (µs or ns, either byte order), pcapng, and tcpdump text output in its
common forms (-n/-nn, -S, -t..-ttttt, -v/-vv, -e, -i any; -x/-X/-A dumps are read for
the payload). Non-TCP lines and frames are counted and skipped. Text lines longer than 64 KiB (tcpdump prints a packet in a
few hundred characters) are skipped with a warning naming them; at most 64 KiB of a
line is held in memory. Analysis events use Wireshark's meanings.`;

export interface ExplainFlags {
  json?: boolean;
  summary?: boolean;
  conn?: string;
  lang: 'en' | 'zh';
}

/** Parses and runs `gw explain ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = configureCommand(new Command('gw explain'), 'gw explain')
    .description('explain a tcpdump capture (pcap, pcapng or tcpdump text) packet by packet')
    .argument('[file]', 'capture file, or - for standard input', '-')
    .option('--json', 'one JSON object per packet (NDJSON)')
    .option('--summary', 'a table of connections instead of packets')
    .option('--conn <n>', 'only connection N (numbered from 0 as they appear)')
    .addOption(
      new Option('--lang <lang>', 'language of the explanations')
        .choices(['en', 'zh'])
        .default('en'),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, flags: ExplainFlags) =>
      (await import('./explain-actions.js')).runExplainCommand(file, flags),
    );
  await parseCommand(program, argv, 'gw explain');
}
