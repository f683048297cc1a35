import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalog } from '../src/catalog/catalog.js';
import { quoteMd } from '../src/catalog/delimit.js';
import { moodBoundsText, PERCENTILES, type CatalogDistribution, type DistributionAttribute, type Percentiles } from '../src/catalog/distribution.js';
import { stylesMarkdown } from '../src/catalog/genre-styles.js';
import { boundParts, MOODS, type MoodBoundName } from '../src/catalog/moods.js';
import { ATTRIBUTE_NAMES, ATTRIBUTES, type AttributeSpec } from '../src/catalog/recommend.js';
import { FRACTION_FEATURES, glossarySection, unitOf } from '../src/features.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { DESCRIBED_FEATURES, FEATURE_BANDS, type DescribedFeature } from './vocabulary.js';

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

/** The line of knowledge/audio-features.md that stands for the described features' sections. */
const FEATURE_SECTIONS = /^<!-- One section per described feature\b.*-->$/m;

/**
 * The glossary's fixed prose: what each feature measures (knowledge/audio-features.md, with each
 * described feature's section from the feature registry where the file says so).
 */
export const GLOSSARY_PROSE = readFileSync(join(PROJECT_ROOT, 'resources/knowledge/audio-features.md'), 'utf8')
  .replace(FEATURE_SECTIONS, () => DESCRIBED_FEATURES.map(glossarySection).join('\n\n'))
  .trimEnd();

const COUNT = new Intl.NumberFormat('en-US');

/** 122 → "122", 121.96 → "122", 99.25 → "99.3". */
const tenths = (v: number) => String(Number(v.toFixed(1)));

/** A percentile as the glossary prints it: 0–1 features to 0.001, tempo to 0.1 BPM, loudness to 0.1 dB, duration as m:ss. */
export function figure(attr: DistributionAttribute, v: number): string {
  switch (attr) {
    case 'tempo': return `${tenths(v)} BPM`;
    case 'loudness': return `${tenths(v)} dB`;
    case 'duration_ms': {
      const seconds = Math.round(v / 1000);
      return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
    }
    case 'popularity':
    case 'release_year': return tenths(v);
    default: return v.toFixed(3);
  }
}

/** "p10 0.453, p25 0.561, median 0.670, p75 0.760, p90 0.830" */
function percentileText(attr: DistributionAttribute, p: Percentiles): string {
  return PERCENTILES.map((q) => `${q === 50 ? 'median' : `p${q}`} ${figure(attr, p[`p${q}`])}`).join(', ');
}

const bandValue = (f: DescribedFeature, v: number) => (unitOf(f) ? `${v} ${unitOf(f)}` : String(v));

/** "below 0.5 not very danceable; 0.5–0.65 moderately danceable; …; 0.75 and above very danceable" (FEATURE_BANDS). */
function bandsText(f: DescribedFeature): string {
  const bands = FEATURE_BANDS[f];
  return bands.map((b, k) => {
    const from = bands[k - 1]?.below;
    if (from === undefined) return `below ${bandValue(f, b.below)} ${b.word}`;
    if (b.below === Infinity) return `${bandValue(f, from)} and above ${b.word}`;
    return `${from < 0 ? `${from} to ` : `${from}–`}${bandValue(f, b.below)} ${b.word}`;
  }).join('; ');
}

/** "lowest «a» (0.41), «b» (0.43); highest «c» (0.80), «d» (0.78)": genre medians at both ends. */
function genreEnds(catalog: Catalog, f: DescribedFeature): string | null {
  const medians = catalog.genres.flatMap((g) => {
    const v = g.features[f]?.p50;
    return typeof v === 'number' ? [{ genre: g.genre, v }] : [];
  }).sort((a, b) => a.v - b.v || (a.genre < b.genre ? -1 : 1));
  if (medians.length < 4) return null;
  const list = (xs: typeof medians) => xs.map((x) => `${quoteMd(x.genre)} (${figure(f, x.v)})`).join(', ');
  return `Genre medians here: lowest ${list(medians.slice(0, 2))}; highest ${list(medians.slice(-2).reverse())}.`;
}

/** Where the glossary's figures come from: the served catalog, and when they were computed. */
function basisText(catalog: Catalog, distribution: CatalogDistribution): string {
  const dataset = catalog.manifest.source.dataset;
  return [
    '## Which catalog these figures describe',
    '',
    `Every figure below (percentiles, genre medians, mood ranges and their track counts) describes the catalog this server`,
    `serves: ${COUNT.format(distribution.tracks)} tracks${dataset ? ` from ${quoteMd(dataset)}` : ''}, snapshot ${catalog.version} published ${catalog.manifest.publishedAt}.`,
    distribution.origin === 'publish'
      ? 'They were computed from its tracks when it was published.'
      : 'They were computed from its tracks when this server loaded it (the snapshot was published before it carried them).',
    'Percentiles interpolate between neighbouring tracks (as SQL `percentile_cont`). Another catalog gives other figures.',
    '',
  ].join('\n');
}

/** The generated lines a feature section of the prose gets, or none for a heading that is not a feature. */
function featureFigures(catalog: Catalog, distribution: CatalogDistribution, heading: string): string[] {
  if ((DESCRIBED_FEATURES as readonly string[]).includes(heading)) {
    const feature = heading as DescribedFeature;
    const percentiles = distribution.features[feature];
    return [
      percentiles ? `This catalog: ${percentileText(feature, percentiles)}.` : `This catalog does not record ${feature}.`,
      `Words: ${bandsText(feature)}.`,
      ...[genreEnds(catalog, feature)].filter((x): x is string => x !== null),
    ];
  }
  if (heading.startsWith('key, mode')) {
    return (['duration_ms', 'popularity', 'release_year'] as const).map((a) => {
      const percentiles = distribution.features[a];
      const name = a === 'duration_ms' ? 'duration (m:ss)' : a === 'release_year' ? 'release year' : 'popularity (0–100)';
      return percentiles
        ? `This catalog, ${name}: ${percentileText(a, percentiles)}${percentiles.tracks < distribution.tracks ? ` (${COUNT.format(percentiles.tracks)} tracks record it)` : ''}.`
        : `This catalog does not record ${name}.`;
    });
  }
  return [];
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;

/** The listener words, each with this catalog's bounds, how they are set, and what they select. */
function moodsMarkdown(distribution: CatalogDistribution): string {
  const lines = [
    "## Listeners' words and the ranges that capture them",
    '',
    'Each word is defined by percentile positions of features in the served catalog (e.g. "chill": energy at',
    'most its 20th percentile), so the bounds below are this catalog\'s and another catalog gets its own. Pass',
    'them as they are to `recommend_by_genre` or `similar_tracks`; combine a mood with a genre ("chill',
    'acoustic rock" is genre "rock" with the chill and acoustic bounds). Bounds are a starting point: widen',
    'them when a genre has few matches (the genre profiles give each genre\'s own distribution).',
    '',
  ];
  for (const def of MOODS) {
    const measured = distribution.moods.find((m) => m.mood === def.mood);
    lines.push(`### ${def.mood}`, `Also: ${def.synonyms.join(', ')}.`);
    if (!measured) {
      const missing = Object.keys(def.positions).map((n) => boundParts(n as MoodBoundName)[1]).filter((f) => !distribution.features[f]);
      lines.push(`Not available in this catalog: it does not record ${missing.join(', ')}.`, '');
      continue;
    }
    const how = measured.bounds.map((b) => {
      const [side, f] = boundParts(b.name);
      return `${f} ${side === 'min' ? 'at least' : 'at most'} its ${ordinal(b.percentile)} percentile`;
    });
    const share = distribution.tracks ? ` (${((100 * measured.tracks) / distribution.tracks).toFixed(1)}%)` : '';
    const where = measured.genres.length ? `; most of them in ${measured.genres.map((g) => `${quoteMd(g.genre)} (${COUNT.format(g.tracks)})`).join(', ')}` : '';
    lines.push(
      `Bounds: ${moodBoundsText(measured)}.`,
      `Set as: ${how.join(', ')}.`,
      `${COUNT.format(measured.tracks)} tracks${share} of this catalog meet them${where}.`,
      '',
    );
  }
  return lines.join('\n');
}

/**
 * The audio-feature glossary of a catalog: the fixed prose of knowledge/audio-features.md with this
 * catalog's percentiles, word bands and extreme genres under each feature, the listener words with the
 * bounds their percentile positions give here, the bounds the tools accept (from their input schemas'
 * ranges), then the table of well-known styles' feature profiles that unknown-genre answers measure
 * "nearest by sound" against.
 */
export function renderGlossary(catalog: Catalog): string {
  const distribution = catalog.distribution;
  const out: string[] = [];
  let heading = '';
  const flush = () => {
    const extra = featureFigures(catalog, distribution, heading);
    if (!extra.length) return;
    while (out.length && out[out.length - 1] === '') out.pop();
    out.push(...extra, '');
  };
  for (const line of GLOSSARY_PROSE.split('\n')) {
    if (/^#{2,3} /.test(line)) {
      flush();
      if (line === '## The features') out.push(basisText(catalog, distribution));
      if (line === '## Using these with the tools') out.push(moodsMarkdown(distribution));
      heading = line.replace(/^#+ /, '');
    }
    out.push(line);
  }
  flush();
  return `${out.join('\n').trimEnd()}\n\n${boundsMarkdown()}\n${stylesMarkdown()}`;
}

/** Static parts of the dataset card (sources, licences, columns, known gaps); `{{fraction_features}}` lists the 0–1 features of the feature registry. */
export const DATASET_MD = readFileSync(join(PROJECT_ROOT, 'resources/knowledge/dataset.md'), 'utf8').replaceAll(
  '{{fraction_features}}',
  FRACTION_FEATURES.join(', '),
);

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
    const headingMatch = /^(#{1,3}) (.*)$/.exec(line);
    if (!headingMatch) {
      lines.push(line);
      continue;
    }
    flush();
    const level = headingMatch[1]!.length;
    if (level === 1) {
      heading = title = docTitle;
    } else if (level === 2) {
      h2 = headingMatch[2]!;
      heading = h2;
      title = `${docTitle} › ${h2}`;
    } else {
      heading = headingMatch[2]!;
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
    const trimmed = line.trim();
    if (!trimmed) {
      out.push('');
      joinable = false;
    } else if (/^(- |\||\d+\. )/.test(trimmed) || !joinable) {
      out.push(trimmed);
      joinable = !trimmed.startsWith('|');
    } else {
      out[out.length - 1] += ` ${trimmed}`;
    }
  }
  return out.join('\n');
}
