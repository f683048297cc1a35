/**
 * The audio-feature registry: every numeric track attribute the project stages, stores, bounds or
 * describes, with everything the code needs to know about it, in one place. The ingest's CSV layouts
 * and value checks, the staging DDL (DuckDB and PostgreSQL), the COPY encoder, the row hash, the
 * snapshot's feature columns, the learned metric's inputs, the tools' `min_`/`max_`/`target_`
 * arguments, the vocabulary bands and the glossary are all derived from `FEATURES` below. The dbt
 * project names the profiled ones in its var `audio_features` (dbt/dbt_project.yml), which
 * tests/features.test.ts holds equal to `PROFILED_FEATURES`.
 *
 * Order matters: `FEATURES` is in `staging.tracks` column order (the feature block, then the attributes
 * staged elsewhere). A new feature goes at the end of the block (after `tempo`): the columns of existing
 * staging tables, the row hash and the snapshot keep their order. Adding one is described in
 * docs/ARCHITECTURE.md ("Adding an audio feature").
 *
 * Serving and pipeline code both import this module, so it imports nothing of either.
 */

/** What a feature's numbers mean; decides its unit and how a value is written. */
export type FeatureKind =
  | 'fraction' // 0–1 scale
  | 'decibels'
  | 'bpm'
  | 'pitch-class' // 0 = C … 11 = B
  | 'mode' // 1 major, 0 minor
  | 'milliseconds'
  | 'meter' // beats per bar
  | 'popularity' // 0–100
  | 'year';

/** A word for a value range: the first band whose `below` exceeds the value (the last catches the rest). */
export interface Band {
  below: number;
  word: string;
}

export interface FeatureSpec {
  /** The column name everywhere: staging, marts, snapshot (`feature.<name>`), tool arguments (`min_<name>`). */
  readonly name: string;
  readonly kind: FeatureKind;
  /** Whole numbers only (staged as INTEGER, refused by the tools when fractional); otherwise DOUBLE. */
  readonly integer: boolean;
  /** Where the value comes from: Spotify's audio analysis of the recording, or the track's catalog data. */
  readonly origin: 'audio-analysis' | 'catalog';
  /** The values the tools' `min_`/`max_`/`target_` arguments accept. `span`: how far from a target a track still counts as near it (default: the whole range). */
  readonly bounds: { readonly min: number; readonly max: number; readonly span?: number };
  /**
   * A column of the feature block of `staging.tracks` (between `explicit` and `time_signature`), read from
   * the CSV cell headed `header` in every known layout, and staged only when inside `min`–`max`
   * (`expected` writes that range in reject reasons). Absent: staged by its own code (popularity,
   * duration_ms, time_signature) or derived by dbt (release_year).
   */
  readonly staged?: { readonly header: string; readonly min: number; readonly max: number; readonly expected: string };
  /** Profiled per genre and artist by the marts (`<name>_mean`, `_stddev`, `_p10` … `_p90`): the dbt var `audio_features`. */
  readonly profiled: boolean;
  /** An input of the learned similarity metric (src/catalog/catalog.ts#METRIC_INPUTS). */
  readonly metric: boolean;
  /**
   * Described in words: its place among the described features (the glossary's sections, the vocabulary,
   * answers' feature lists; 0–1 features first), its glossary prose, its word bands, and, when a listener
   * knows it, `listener` (it explains a recommendation and sums up an artist's sound). `gloss`: a few
   * words said after its name in tool descriptions.
   */
  readonly described?: {
    readonly rank: number;
    readonly glossary: string;
    readonly bands: readonly Band[];
    readonly listener?: boolean;
    readonly gloss?: string;
  };
}

const fraction = { kind: 'fraction', integer: false, origin: 'audio-analysis', bounds: { min: 0, max: 1 }, profiled: true, metric: true } as const;
const stagedFraction = (header: string) => ({ header, min: 0, max: 1, expected: '0–1' }) as const;

/** Every numeric track attribute, in staging column order (see the module comment). */
export const FEATURES = [
  {
    name: 'danceability',
    ...fraction,
    staged: stagedFraction('danceability'),
    described: {
      rank: 1,
      listener: true,
      glossary: 'How suitable a track is for dancing, from tempo, rhythm stability, beat strength and regularity.\nRange 0–1.',
      bands: [
        { below: 0.5, word: 'not very danceable' },
        { below: 0.65, word: 'moderately danceable' },
        { below: 0.75, word: 'danceable' },
        { below: Infinity, word: 'very danceable' },
      ],
    },
  },
  {
    name: 'energy',
    ...fraction,
    staged: stagedFraction('energy'),
    described: {
      rank: 2,
      listener: true,
      glossary:
        'Perceived intensity and activity: fast, loud, noisy tracks (death metal, big-room EDM) score high,\na Bach prelude low. Range 0–1.',
      bands: [
        { below: 0.45, word: 'calm, low energy' },
        { below: 0.65, word: 'moderate energy' },
        { below: 0.8, word: 'high energy' },
        { below: Infinity, word: 'very high energy, intense' },
      ],
    },
  },
  {
    name: 'key',
    kind: 'pitch-class',
    integer: true,
    origin: 'audio-analysis',
    bounds: { min: 0, max: 11 },
    staged: { header: 'key', min: -1, max: 11, expected: '-1..11' },
    profiled: false,
    metric: true,
  },
  {
    name: 'loudness',
    kind: 'decibels',
    integer: false,
    origin: 'audio-analysis',
    bounds: { min: -60, max: 5 },
    // Real masters can be slightly louder than 0 dBFS (the TidyTuesday file peaks at +1.275 dB).
    staged: { header: 'loudness', min: -80, max: 10, expected: '-80–10 dB' },
    profiled: true,
    metric: true,
    described: {
      rank: 9,
      glossary: 'Average loudness of the track in decibels (dBFS), typically −60 to 0. Loudness says more about\nmastering (and the loudness war) than about mood.',
      bands: [
        { below: -10, word: 'quiet mastering' },
        { below: -6, word: 'moderately loud' },
        { below: Infinity, word: 'loud mastering' },
      ],
    },
  },
  {
    name: 'mode',
    kind: 'mode',
    integer: true,
    origin: 'audio-analysis',
    bounds: { min: 0, max: 1 },
    staged: { header: 'mode', min: 0, max: 1, expected: '0 or 1' },
    profiled: false,
    metric: true,
  },
  {
    name: 'speechiness',
    ...fraction,
    staged: stagedFraction('speechiness'),
    described: {
      rank: 6,
      glossary:
        'Presence of spoken words. Range 0–1. Above 0.66 is almost entirely speech (talk, audiobook, poetry);\n' +
        '0.33–0.66 mixes music and speech (much rap); below 0.33 is mostly music.',
      bands: [
        { below: 0.1, word: 'sung, little speech' },
        { below: 0.33, word: 'some rap or spoken words' },
        { below: Infinity, word: 'speech-heavy (rap, spoken word)' },
      ],
    },
  },
  {
    name: 'acousticness',
    ...fraction,
    staged: stagedFraction('acousticness'),
    described: {
      rank: 4,
      listener: true,
      glossary: 'Confidence that the track is acoustic (unplugged instruments, little electronic production).\nRange 0–1.',
      bands: [
        { below: 0.05, word: 'electronic or heavily produced' },
        { below: 0.25, word: 'mostly electric' },
        { below: 0.6, word: 'partly acoustic' },
        { below: Infinity, word: 'acoustic' },
      ],
    },
  },
  {
    name: 'instrumentalness',
    ...fraction,
    staged: stagedFraction('instrumentalness'),
    described: {
      rank: 5,
      glossary:
        'Likelihood that the track has no vocals ("ooh" and "aah" count as instrumental; rap and spoken word\n' +
        'are vocal). Range 0–1. Values above 0.5 are meant to represent instrumental tracks.',
      bands: [
        { below: 0.1, word: 'vocal' },
        { below: 0.5, word: 'some instrumental passages' },
        { below: Infinity, word: 'mostly instrumental' },
      ],
    },
  },
  {
    name: 'liveness',
    ...fraction,
    staged: stagedFraction('liveness'),
    described: {
      rank: 7,
      glossary: 'Probability that an audience is audible, i.e. a live recording. Range 0–1. Above 0.8 the track is\nvery likely live.',
      bands: [
        { below: 0.3, word: 'studio recording' },
        { below: 0.8, word: 'some live feel' },
        { below: Infinity, word: 'live recording' },
      ],
    },
  },
  {
    name: 'valence',
    ...fraction,
    staged: stagedFraction('valence'),
    described: {
      rank: 3,
      listener: true,
      gloss: 'musical positiveness',
      glossary: 'Musical positiveness: high valence sounds happy, cheerful, euphoric; low valence sounds sad,\ndepressed, angry. Range 0–1.',
      bands: [
        { below: 0.3, word: 'dark, sad-sounding' },
        { below: 0.5, word: 'bittersweet, neutral mood' },
        { below: 0.7, word: 'positive, cheerful' },
        { below: Infinity, word: 'very happy, euphoric' },
      ],
    },
  },
  {
    name: 'tempo',
    kind: 'bpm',
    integer: false,
    origin: 'audio-analysis',
    bounds: { min: 0, max: 250 },
    staged: { header: 'tempo', min: 0, max: 300, expected: '0–300 BPM' },
    profiled: true,
    metric: true,
    described: {
      rank: 8,
      listener: true,
      glossary:
        'Estimated beats per minute. Tempo detection sometimes halves or doubles the felt tempo (a 160 BPM\n' +
        'drum-and-bass track may read 80); reggaeton usually sits near 90–100 BPM, EDM near 128, trap near 130\n' +
        '(often felt at half time). Tempo 0 means no beat was detected.',
      bands: [
        { below: 90, word: 'slow tempo' },
        { below: 115, word: 'mid tempo' },
        { below: 135, word: 'upbeat tempo' },
        { below: Infinity, word: 'fast tempo' },
      ],
    },
  },
  // Staged by their own code (src/pipeline/ingest.ts), or derived by dbt (release_year).
  { name: 'duration_ms', kind: 'milliseconds', integer: true, origin: 'audio-analysis', bounds: { min: 0, max: 3_600_000 }, profiled: true, metric: true },
  { name: 'release_year', kind: 'year', integer: true, origin: 'catalog', bounds: { min: 1800, max: 2100, span: 50 }, profiled: false, metric: true },
  { name: 'popularity', kind: 'popularity', integer: true, origin: 'catalog', bounds: { min: 0, max: 100 }, profiled: false, metric: true },
  { name: 'time_signature', kind: 'meter', integer: true, origin: 'audio-analysis', bounds: { min: 0, max: 7 }, profiled: false, metric: false },
] as const satisfies readonly FeatureSpec[];

type Entry = (typeof FEATURES)[number];
export type FeatureName = Entry['name'];
/** The columns of the feature block of `staging.tracks`. */
export type StagedFeature = Extract<Entry, { staged: object }>['name'];
/** The block's non-integer columns: the per-track number columns of the snapshot (`feature.<name>`). */
export type TrackFeature = Extract<Entry, { staged: object; integer: false }>['name'];
/** The 0–1 features. */
export type FractionFeature = Extract<Entry, { kind: 'fraction' }>['name'];
/** The features described in words (glossary, vocabulary). */
export type DescribedFeature = Extract<Entry, { described: object }>['name'];
export type MetricFeature = Extract<Entry, { metric: true }>['name'];

const specs: readonly FeatureSpec[] = FEATURES;
const names = <N extends string>(list: readonly FeatureSpec[]): N[] => list.map((f) => f.name as N);
/** Glossary order; features not described in words come last, in column order (the sort is stable). */
const byRank = (list: readonly FeatureSpec[]): FeatureSpec[] =>
  [...list].sort((a, b) => (a.described?.rank ?? Infinity) - (b.described?.rank ?? Infinity));

export const FEATURE_BY_NAME: ReadonlyMap<string, FeatureSpec> = new Map(specs.map((f) => [f.name, f]));

/** The feature block of `staging.tracks`, in column order. */
export const STAGED_FEATURES: readonly FeatureSpec[] = specs.filter((f) => f.staged);
export const STAGED_FEATURE_NAMES = names<StagedFeature>(STAGED_FEATURES);

/** Per-track number columns of the snapshot, in segment order (the integer `key` and `mode` have columns of their own). */
export const TRACK_FEATURES = names<TrackFeature>(STAGED_FEATURES.filter((f) => !f.integer));

/** The dbt var `audio_features`: profiled per genre and artist, in the marts' column order. */
export const PROFILED_FEATURES = names<FeatureName>(specs.filter((f) => f.profiled));

/** Inputs of the learned metric, in its matrix's column order. */
export const METRIC_FEATURES = names<MetricFeature>(specs.filter((f) => f.metric));

/** The features described in words, in glossary order. */
export const DESCRIBED_FEATURES = names<DescribedFeature>(byRank(specs.filter((f) => f.described)));

/** The 0–1 features, in glossary order. */
export const FRACTION_FEATURES = names<FractionFeature>(byRank(specs.filter((f) => f.kind === 'fraction')));

/** The features a listener recognises (they explain a pick and sum up an artist's sound), in glossary order. */
export const LISTENER_FEATURES = names<TrackFeature>(byRank(specs.filter((f) => f.described?.listener)));

/** The per-track features as answers list them: the 0–1 ones in glossary order, then the others in column order. */
export const TRACK_FEATURES_SHOWN: TrackFeature[] = [
  ...(FRACTION_FEATURES as TrackFeature[]),
  ...TRACK_FEATURES.filter((f) => FEATURE_BY_NAME.get(f)!.kind !== 'fraction'),
];

/** Every feature the tools bound, by name (the order of the tools' arguments). */
export const BOUNDED_FEATURE_NAMES = names<FeatureName>([...specs].sort((a, b) => (a.name < b.name ? -1 : 1)));

/** The unit a value of this feature is written with ('' for 0–1 scales, counts and indices). */
export function unitOf(name: string): string {
  switch (FEATURE_BY_NAME.get(name)?.kind) {
    case 'decibels': return 'dB';
    case 'bpm': return 'BPM';
    case 'milliseconds': return 'ms';
    default: return '';
  }
}

/** The word bands of a described feature. */
export function bandsOf(name: DescribedFeature): readonly Band[] {
  return FEATURE_BY_NAME.get(name)!.described!.bands;
}

/** A feature's glossary entry as a Markdown section: `### <name>` and its prose. */
export function glossarySection(name: DescribedFeature): string {
  return `### ${name}\n${FEATURE_BY_NAME.get(name)!.described!.glossary}`;
}

/** "acousticness, danceability, …, valence = musical positiveness": the 0–1 features in alphabetical order, with their gloss. */
export function fractionFeatureList(): string {
  return [...FRACTION_FEATURES].sort().map((f) => {
    const gloss = FEATURE_BY_NAME.get(f)!.described?.gloss;
    return gloss ? `${f} = ${gloss}` : f;
  }).join(', ');
}

/** A feature as the tools bound it: accepted range, whole numbers or not, unit, and the `span` of a target. */
export interface BoundSpec { min: number; max: number; integer: boolean; unit?: string; span?: number }

/** The tools' bounds of every feature, keyed in argument order. */
export const FEATURE_BOUNDS: Readonly<Record<FeatureName, BoundSpec>> = Object.fromEntries(
  BOUNDED_FEATURE_NAMES.map((name) => {
    const f = FEATURE_BY_NAME.get(name)!;
    const unit = unitOf(name);
    const { min, max, span } = f.bounds;
    return [name, { min, max, integer: f.integer, ...(unit ? { unit } : {}), ...(span === undefined ? {} : { span }) }];
  }),
) as Record<FeatureName, BoundSpec>;

/**
 * A function whose body is `statement(feature)` for each column of the feature block, in column order,
 * compiled once. The per-row code of the ingest (row building, hashing, COPY encoding) uses it to read
 * and write the block's properties by fixed names, as the hand-written code it replaced did, instead
 * of looking each name up in a loop (figures in docs/ARCHITECTURE.md, "Adding an audio feature").
 */
export function overStagedFeatures<F>(params: readonly string[], statement: (feature: FeatureSpec) => string): F {
  for (const f of STAGED_FEATURES) {
    if (!/^[a-z_][a-z0-9_]*$/.test(f.name)) throw new Error(`feature name ${JSON.stringify(f.name)} is not a plain column name`);
  }
  return new Function(...params, STAGED_FEATURES.map(statement).join('\n')) as F;
}
