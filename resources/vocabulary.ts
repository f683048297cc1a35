import type { UnitFeature } from '../src/catalog/recommend.js';

/**
 * How listeners' words map onto audio-feature ranges. The single source for the wording used in the
 * generated profiles and for the mood bounds the prompts hand to recommend_by_genre. The glossary
 * (knowledge/audio-features.md) explains the same numbers in prose; tests keep the two in step.
 */

/** Features described in words. Unit features are 0–1; tempo in BPM; loudness in dB. */
export type DescribedFeature = UnitFeature | 'tempo' | 'loudness';

export interface Band { below: number; word: string }

/**
 * Word for a value: the first band whose `below` exceeds it (the last band catches the rest).
 * Cut points sit near quartiles of the tracks in the TidyTuesday snapshot (see the glossary).
 */
export const FEATURE_BANDS: Record<DescribedFeature, Band[]> = {
  danceability: [
    { below: 0.5, word: 'not very danceable' },
    { below: 0.65, word: 'moderately danceable' },
    { below: 0.75, word: 'danceable' },
    { below: Infinity, word: 'very danceable' },
  ],
  energy: [
    { below: 0.45, word: 'calm, low energy' },
    { below: 0.65, word: 'moderate energy' },
    { below: 0.8, word: 'high energy' },
    { below: Infinity, word: 'very high energy, intense' },
  ],
  valence: [
    { below: 0.3, word: 'dark, sad-sounding' },
    { below: 0.5, word: 'bittersweet, neutral mood' },
    { below: 0.7, word: 'positive, cheerful' },
    { below: Infinity, word: 'very happy, euphoric' },
  ],
  acousticness: [
    { below: 0.05, word: 'electronic or heavily produced' },
    { below: 0.25, word: 'mostly electric' },
    { below: 0.6, word: 'partly acoustic' },
    { below: Infinity, word: 'acoustic' },
  ],
  instrumentalness: [
    { below: 0.1, word: 'vocal' },
    { below: 0.5, word: 'some instrumental passages' },
    { below: Infinity, word: 'mostly instrumental' },
  ],
  speechiness: [
    { below: 0.1, word: 'sung, little speech' },
    { below: 0.33, word: 'some rap or spoken words' },
    { below: Infinity, word: 'speech-heavy (rap, spoken word)' },
  ],
  liveness: [
    { below: 0.3, word: 'studio recording' },
    { below: 0.8, word: 'some live feel' },
    { below: Infinity, word: 'live recording' },
  ],
  tempo: [
    { below: 90, word: 'slow tempo' },
    { below: 115, word: 'mid tempo' },
    { below: 135, word: 'upbeat tempo' },
    { below: Infinity, word: 'fast tempo' },
  ],
  loudness: [
    { below: -10, word: 'quiet mastering' },
    { below: -6, word: 'moderately loud' },
    { below: Infinity, word: 'loud mastering' },
  ],
};

export const DESCRIBED_FEATURES = Object.keys(FEATURE_BANDS) as DescribedFeature[];

export function describe(feature: DescribedFeature, value: number): string {
  const bands = FEATURE_BANDS[feature];
  return (bands.find((b) => value < b.below) ?? bands[bands.length - 1]!).word;
}

export type Bounds = Partial<Record<`${'min' | 'max'}_${UnitFeature}`, number>>;

export interface Mood {
  /** The listener's word, as completed for the build_playlist prompt. */
  mood: string;
  /** Other words that mean the same (indexed for search). */
  synonyms: string[];
  /** recommend_by_genre bounds that capture it. */
  bounds: Bounds;
  /** Tempo a listener expects, advice only (recommend_by_genre has no tempo bound). */
  tempo?: string;
}

export const MOODS: Mood[] = [
  { mood: 'chill', synonyms: ['relaxed', 'calm', 'mellow', 'laid back', 'relaxing'], bounds: { max_energy: 0.5, max_speechiness: 0.15 }, tempo: 'under 110 BPM' },
  { mood: 'upbeat', synonyms: ['happy', 'feel good', 'cheerful', 'positive', 'sunny'], bounds: { min_energy: 0.7, min_valence: 0.6, min_danceability: 0.6 } },
  { mood: 'acoustic', synonyms: ['unplugged', 'organic', 'singer songwriter'], bounds: { min_acousticness: 0.6, max_energy: 0.6 } },
  { mood: 'for running', synonyms: ['running', 'run', 'jogging', 'workout', 'gym', 'training', 'cardio'], bounds: { min_energy: 0.8, min_danceability: 0.6 }, tempo: '150–180 BPM (running cadence), or 75–90 BPM at half time' },
  { mood: 'sad', synonyms: ['melancholic', 'melancholy', 'heartbreak', 'moody', 'blue', 'gloomy'], bounds: { max_valence: 0.3, max_energy: 0.6 } },
  { mood: 'party', synonyms: ['dance', 'dancing', 'club', 'dancefloor', 'celebration'], bounds: { min_danceability: 0.7, min_energy: 0.7, min_valence: 0.5 } },
  { mood: 'focus', synonyms: ['study', 'studying', 'concentration', 'work', 'background', 'instrumental'], bounds: { min_instrumentalness: 0.5, max_speechiness: 0.1 } },
  { mood: 'energetic', synonyms: ['intense', 'pumped', 'hype', 'powerful'], bounds: { min_energy: 0.85 } },
  { mood: 'dark', synonyms: ['aggressive', 'angry', 'brooding', 'tense'], bounds: { max_valence: 0.35, min_energy: 0.75 } },
  { mood: 'romantic', synonyms: ['love', 'sensual', 'smooth', 'slow jam', 'date night'], bounds: { max_energy: 0.6, min_danceability: 0.5, max_speechiness: 0.2 } },
  { mood: 'live', synonyms: ['concert', 'in concert', 'live recording'], bounds: { min_liveness: 0.8 } },
];

export function findMood(word: string): Mood | undefined {
  const w = word.trim().toLowerCase();
  return MOODS.find((m) => m.mood === w) ?? MOODS.find((m) => m.synonyms.includes(w));
}

/** "min_energy 0.7, min_valence 0.6" */
export function boundsText(b: Bounds): string {
  return Object.entries(b).map(([k, v]) => `${k} ${v}`).join(', ');
}

/** Whether values (e.g. a genre's medians) sit inside a mood's bounds. */
export function fitsMood(mood: Mood, value: (f: UnitFeature) => number | null): boolean {
  return Object.entries(mood.bounds).every(([k, bound]) => {
    const [side, feature] = [k.slice(0, 3), k.slice(4) as UnitFeature];
    const v = value(feature);
    if (v === null) return false;
    return side === 'min' ? v >= bound : v <= bound;
  });
}
