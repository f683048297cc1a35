import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stylesMarkdown } from '../src/catalog/genre-styles.js';
import { ATTRIBUTE_NAMES, ATTRIBUTES, type AttributeSpec } from '../src/catalog/recommend.js';
import { PROJECT_ROOT } from '../src/paths.js';

/** The attributes the recommendation tools bound, with the ranges their input schemas accept (ATTRIBUTES). */
export function boundsMarkdown(): string {
  const rows = ATTRIBUTE_NAMES.map((a) => {
    const s: AttributeSpec = ATTRIBUTES[a];
    return `| ${a} | ${s.min} to ${s.max}${s.unit ? ` ${s.unit}` : ''} | ${s.integer ? 'whole numbers' : 'any number'} |`;
  });
  return [
    '## Bounds the tools accept',
    '',
    '`recommend_by_genre` and `similar_tracks` take, for each attribute below, `min_<attribute>` and',
    '`max_<attribute>` (only tracks inside are returned) and `target_<attribute>` (tracks nearest the value',
    'rank first). A value outside the range, or a min above its max, is refused with an error naming it.',
    '',
    '| attribute | accepted values | steps |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/**
 * The audio-feature glossary: a static knowledge document (knowledge/audio-features.md), the bounds the
 * tools accept (from their input schemas' ranges), then the table of well-known styles' feature profiles that unknown-genre answers measure "nearest by sound" against.
 */
export const GLOSSARY_MD = `${readFileSync(join(PROJECT_ROOT, 'resources/knowledge/audio-features.md'), 'utf8').trimEnd()}\n\n${boundsMarkdown()}\n${stylesMarkdown()}`;

/** Static parts of the dataset card (sources, licences, columns, known gaps). */
export const DATASET_MD = readFileSync(join(PROJECT_ROOT, 'resources/knowledge/dataset.md'), 'utf8');

export interface Section {
  /** Heading path, e.g. "Listeners' words and the ranges that capture them › chill". */
  title: string;
  /** The last heading alone ("chill"). */
  heading: string;
  text: string;
}

/** Split a Markdown document at its ## and ### headings (retrieval indexes sections, not whole documents). */
export function sections(md: string, docTitle: string): Section[] {
  const out: Section[] = [];
  let h2 = '';
  let heading = docTitle;
  let title = docTitle;
  let lines: string[] = [];
  const flush = () => {
    const text = unwrap(lines).trim();
    if (text) out.push({ title, heading, text });
    lines = [];
  };
  for (const line of md.split('\n')) {
    const m = /^(#{1,3}) (.*)$/.exec(line);
    if (!m) {
      lines.push(line);
      continue;
    }
    flush();
    const level = m[1]!.length;
    if (level === 1) {
      heading = title = docTitle;
    } else if (level === 2) {
      h2 = m[2]!;
      heading = h2;
      title = `${docTitle} › ${h2}`;
    } else {
      heading = m[2]!;
      title = `${docTitle} › ${h2 ? `${h2} › ` : ''}${heading}`;
    }
  }
  flush();
  return out;
}

/** Join wrapped prose lines into one line per paragraph; list items and table rows stay lines. */
export function unwrap(lines: readonly string[]): string {
  const out: string[] = [];
  let joinable = false;
  for (const line of lines) {
    const t = line.trim();
    if (!t) {
      out.push('');
      joinable = false;
    } else if (/^(- |\||\d+\. )/.test(t) || !joinable) {
      out.push(t);
      joinable = !t.startsWith('|');
    } else {
      out[out.length - 1] += ` ${t}`;
    }
  }
  return out.join('\n');
}
