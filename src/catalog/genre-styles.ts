import { fold, genreKey } from './text.js';
import type { GenreProfile } from './marts.js';

/** The audio features a style profile sets (Spotify's scales: 0–1, BPM, dB). */
export const STYLE_FEATURES = ['danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'tempo', 'loudness'] as const;
export type StyleFeature = (typeof STYLE_FEATURES)[number];

export interface StyleProfile {
  /** The style's usual name ("jazz"). */
  style: string;
  /** Other words that name it ("heavy metal" for metal). */
  aliases: readonly string[];
  /** The feature values that describe it, in STYLE_FEATURES order. */
  values: readonly number[];
  /** Why these values: what in the music they reflect. */
  why: string;
}

/**
 * Well-known styles and how they sound in Spotify's audio features, used to offer the catalog genres
 * nearest by sound when a caller asks for a style the served catalog does not hold (the TidyTuesday
 * snapshot has no jazz or classical). Each value is the mean of that genre's 1,000 tracks in the Kaggle
 * "Spotify Tracks Dataset" (maharshipandya, 114 genres): Spotify's own measurements of the style,
 * independent of whichever catalog is served. Values in STYLE_FEATURES order.
 */
export const STYLES: readonly StyleProfile[] = [
  { style: 'jazz', aliases: ['smooth jazz', 'bebop', 'swing'], values: [0.51, 0.35, 0.49, 0.72, 0.08, 0.06, 112.6, -11.6],
    why: 'acoustic instruments and soft dynamics (high acousticness, low energy, quiet masters), mid tempo; many vocal standards keep instrumentalness low' },
  { style: 'classical', aliases: ['classical music', 'orchestral', 'symphony', 'baroque'], values: [0.38, 0.19, 0.38, 0.92, 0.62, 0.05, 107.9, -20.1],
    why: 'acoustic orchestras and soloists without vocals (the highest acousticness, high instrumentalness), very low energy and wide dynamics (about −20 dB), little steady beat' },
  { style: 'opera', aliases: [], values: [0.31, 0.32, 0.22, 0.79, 0.16, 0.05, 105.6, -13.6],
    why: 'acoustic orchestra with trained voices: high acousticness, vocal (low instrumentalness), the lowest danceability, dark valence' },
  { style: 'piano', aliases: ['solo piano'], values: [0.46, 0.32, 0.31, 0.7, 0.52, 0.05, 118.1, -17.0],
    why: 'one acoustic instrument, mostly without vocals: high acousticness and instrumentalness, low energy, quiet masters' },
  { style: 'ambient', aliases: ['new age', 'drone'], values: [0.37, 0.24, 0.17, 0.78, 0.68, 0.04, 111.1, -18.6],
    why: 'textures without vocals or a strong beat: the highest instrumentalness, low energy and danceability, quiet, dark valence' },
  { style: 'blues', aliases: ['delta blues'], values: [0.57, 0.58, 0.6, 0.4, 0.03, 0.06, 116.6, -8.5],
    why: 'guitar and voice, partly acoustic (acousticness about 0.4), moderate energy and tempo, sung' },
  { style: 'folk', aliases: ['folk music', 'americana'], values: [0.56, 0.55, 0.49, 0.48, 0.04, 0.06, 118.5, -9.0],
    why: 'acoustic guitars and voice: acousticness near 0.5, moderate energy, sung' },
  { style: 'bluegrass', aliases: [], values: [0.53, 0.53, 0.64, 0.56, 0.14, 0.04, 126.6, -9.9],
    why: 'acoustic string bands (banjo, fiddle): high acousticness, brisk tempo, bright valence, some instrumental breakdowns' },
  { style: 'country', aliases: ['country music'], values: [0.56, 0.6, 0.52, 0.32, 0.01, 0.04, 124.0, -7.3],
    why: 'guitar-led songs with a singer: some acoustic texture, moderate energy, upbeat tempo, sung' },
  { style: 'soul', aliases: ['motown'], values: [0.6, 0.53, 0.52, 0.4, 0.01, 0.06, 114.6, -8.3],
    why: 'band and voice, partly acoustic, moderate energy, danceable groove, sung' },
  { style: 'gospel', aliases: ['christian'], values: [0.47, 0.58, 0.32, 0.38, 0.0, 0.04, 125.6, -7.2],
    why: 'choir and band: vocal, partly acoustic, moderate energy' },
  { style: 'funk', aliases: [], values: [0.68, 0.63, 0.6, 0.3, 0.01, 0.15, 117.8, -6.5],
    why: 'tight rhythm section: high danceability, positive valence, some spoken parts' },
  { style: 'disco', aliases: [], values: [0.68, 0.74, 0.67, 0.17, 0.08, 0.06, 122.0, -7.4],
    why: 'four-on-the-floor dance music near 120 BPM: high danceability, energy and valence' },
  { style: 'reggae', aliases: ['dub', 'ska'], values: [0.75, 0.73, 0.65, 0.18, 0.0, 0.12, 119.9, -5.3],
    why: 'offbeat groove: the highest danceability here, positive valence, some toasting (speechiness)' },
  { style: 'salsa', aliases: [], values: [0.67, 0.72, 0.81, 0.47, 0.01, 0.06, 119.9, -6.9],
    why: 'live percussion and horns: danceable, the brightest valence here, fairly acoustic' },
  { style: 'tango', aliases: [], values: [0.54, 0.37, 0.58, 0.85, 0.14, 0.08, 114.6, -10.1],
    why: 'acoustic ensembles (bandoneon, strings): very high acousticness, low energy' },
  { style: 'metal', aliases: ['heavy metal', 'death metal', 'thrash metal', 'black metal'], values: [0.46, 0.84, 0.42, 0.04, 0.06, 0.07, 127.9, -5.4],
    why: 'distorted guitars and drums: very high energy, loud masters, almost no acoustic sound, low danceability' },
  { style: 'punk', aliases: ['punk rock'], values: [0.5, 0.81, 0.56, 0.09, 0.04, 0.06, 133.6, -5.7],
    why: 'fast, loud guitar songs: high energy, the fastest tempo here, electric' },
  { style: 'techno', aliases: ['minimal techno'], values: [0.68, 0.75, 0.32, 0.08, 0.54, 0.06, 128.3, -8.1],
    why: 'electronic dance music around 128 BPM, mostly without vocals (high instrumentalness), dark valence' },
  { style: 'house', aliases: ['deep house', 'house music'], values: [0.67, 0.76, 0.49, 0.11, 0.04, 0.07, 121.1, -5.3],
    why: 'electronic four-on-the-floor near 120–125 BPM: danceable, energetic, electric' },
  { style: 'k-pop', aliases: ['korean pop'], values: [0.65, 0.68, 0.56, 0.29, 0.01, 0.09, 119.2, -6.5],
    why: 'produced pop: danceable, energetic, sung with some rap' },
];

const BY_KEY = new Map<string, StyleProfile>();
for (const s of STYLES) for (const name of [s.style, ...s.aliases]) BY_KEY.set(genreKey(name), s);

/**
 * The style a query names: the whole query ("Heavy Metal", "kpop") or one of its words ("smooth jazz
 * standards" → jazz, "80s metal" → metal); null when it names none.
 */
export function styleOf(query: string): StyleProfile | null {
  const whole = BY_KEY.get(genreKey(query));
  if (whole) return whole;
  for (const word of fold(query).split(/[^\p{L}\p{N}&]+/u)) {
    const s = word && BY_KEY.get(genreKey(word));
    if (s) return s;
  }
  return null;
}

/**
 * The catalog genres whose feature means lie closest to a style's values, nearest first. Each feature's
 * difference is measured in that feature's typical spread inside a genre (the mean of the catalog's
 * per-genre standard deviations), so tempo in BPM and loudness in dB weigh like the 0–1 features.
 * Genres lacking a feature's mean are compared on the features they have.
 */
export function nearestBySound(profiles: readonly GenreProfile[], style: StyleProfile, n = 3): string[] {
  const spread = STYLE_FEATURES.map((f) => {
    const sds = profiles.map((p) => p.features[f]?.stddev).filter((v): v is number => typeof v === 'number' && v > 0);
    return sds.length ? sds.reduce((a, b) => a + b, 0) / sds.length : 0;
  });
  const scored: { genre: string; d: number }[] = [];
  for (const p of profiles) {
    let sum = 0;
    let used = 0;
    STYLE_FEATURES.forEach((f, j) => {
      const m = p.features[f]?.mean;
      if (typeof m !== 'number' || !(spread[j]! > 0)) return;
      sum += ((m - style.values[j]!) / spread[j]!) ** 2;
      used++;
    });
    if (used) scored.push({ genre: p.genre, d: Math.sqrt(sum / used) });
  }
  scored.sort((a, b) => a.d - b.d || (a.genre < b.genre ? -1 : a.genre > b.genre ? 1 : 0));
  return scored.slice(0, n).map((s) => s.genre);
}

const fmt = (f: StyleFeature, v: number) => (f === 'tempo' ? `${v} BPM` : f === 'loudness' ? `${v} dB` : String(v));

/** The style table as a Markdown section (part of the audio-feature glossary). */
export function stylesMarkdown(): string {
  const head = `| style | ${STYLE_FEATURES.join(' | ')} | why |\n|${' --- |'.repeat(STYLE_FEATURES.length + 2)}`;
  const rows = STYLES.map((s) => `| ${[s.style, ...s.aliases].join(', ')} | ${STYLE_FEATURES.map((f, j) => fmt(f, s.values[j]!)).join(' | ')} | ${s.why} |`);
  return [
    '## Styles the catalog may not hold, and the genres nearest by sound',
    '',
    'When a genre is asked for that the served catalog does not have, and the word names a well-known style',
    'below, the answer names the catalog genres whose mean features lie closest to the style\'s values:',
    'an approximation by sound, not the same genre. Distances count each feature in units of its typical',
    'spread inside a genre of the served catalog. Each value is the mean of that genre\'s 1,000 tracks in',
    'the Kaggle "Spotify Tracks Dataset" (114 genres), i.e. how Spotify measured the style itself; the last',
    'column says what in the music the values reflect.',
    '',
    head,
    ...rows,
    '',
  ].join('\n');
}
