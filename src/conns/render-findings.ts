/** The diagnoses as text under the table, in English or Chinese. Pure. */
import type { Finding } from './diagnose.js';
import { explainFinding, type Lang } from './explain-findings.js';
import { displayWidth } from '../shared/columns.js';
import type { Paint } from './paint.js';

const LABELS = {
  en: { heading: 'Diagnoses', seen: 'seen:  ', means: 'means: ', check: 'check: ' },
  zh: { heading: '诊断', seen: '现象：', means: '含义：', check: '检查：' },
} as const;

/** Every finding with its evidence, meaning and checks; empty when there are none. */
export function renderFindings(findings: readonly Finding[], lang: Lang, paint: Paint): string {
  if (findings.length === 0) return '';
  const l = LABELS[lang];
  const indent = ' '.repeat(4 + displayWidth(l.check));
  const lines = [paint.heading(`${l.heading} (${findings.length}):`)];
  for (const f of findings) {
    const text = explainFinding(f, lang);
    const mark = f.severity === 'critical' ? paint.critical('!!') : paint.warning('!');
    lines.push(`${mark} ${paint.heading(text.title)}`);
    text.evidence.forEach((e, i) => lines.push(`${i === 0 ? `    ${l.seen}` : indent}${e}`));
    lines.push(`    ${l.means}${text.meaning}`);
    text.checks.forEach((c, i) => lines.push(`${i === 0 ? `    ${l.check}` : indent}- ${c}`));
  }
  return `${lines.join('\n')}\n`;
}

/** A finding with its words in `lang`, for JSON. */
export function findingJson(f: Finding, lang: Lang): unknown {
  return { ...f, text: explainFinding(f, lang) };
}
