import type { UnitFeature } from './recommend.js';

/**
 * Listener moods ("chill", "for running", …) and how each maps onto the tools' bounds. This is the one
 * place moods are defined: the glossary, the build_playlist prompt, genre and artist profiles, search
 * and the evaluation all read them from here.
 *
 * A mood is defined by percentile positions of features, not by fixed values: "chill" is energy at most
 * the catalog's 20th percentile, speechiness at most its 75th and tempo at most its 40th. The values
 * are computed from the served catalog's distribution at publish (distribution.ts), so a catalog of
 * acoustic and classical music gets a lower "chill" energy bound than a catalog of pop and EDM.
 */

/** Features a mood may bound: the 0–1 features, tempo (BPM) and loudness (dB). */
export type MoodFeature = UnitFeature | 'tempo' | 'loudness';

/** A tool argument a mood sets, e.g. `max_energy`. */
export type MoodBoundName = `${'min' | 'max'}_${MoodFeature}`;

export interface MoodDefinition {
  /** The listener's word, as completed for the build_playlist prompt. */
  mood: string;
  /** Other words that mean the same (indexed for search). */
  synonyms: readonly string[];
  /**
   * Per bound, the percentile position (0–100) of the feature in the served catalog that sets its value:
   * `max_energy: 20` is "energy at most the catalog's 20th percentile".
   */
  positions: Readonly<Partial<Record<MoodBoundName, number>>>;
}

export const MOODS: readonly MoodDefinition[] = [
  { mood: 'chill', synonyms: ['relaxed', 'calm', 'mellow', 'laid back', 'relaxing'], positions: { max_energy: 20, max_speechiness: 75, max_tempo: 40 } },
  { mood: 'upbeat', synonyms: ['happy', 'feel good', 'cheerful', 'positive', 'sunny'], positions: { min_energy: 50, min_valence: 60, min_danceability: 50 } },
  { mood: 'acoustic', synonyms: ['unplugged', 'organic', 'singer songwriter'], positions: { min_acousticness: 85, max_energy: 50 } },
  { mood: 'for running', synonyms: ['running', 'run', 'jogging', 'workout', 'gym', 'training', 'cardio'], positions: { min_energy: 60, min_danceability: 30, min_tempo: 50 } },
  { mood: 'sad', synonyms: ['melancholic', 'melancholy', 'heartbreak', 'moody', 'blue', 'gloomy'], positions: { max_valence: 20, max_energy: 50 } },
  { mood: 'party', synonyms: ['dance', 'dancing', 'club', 'dancefloor', 'celebration'], positions: { min_danceability: 70, min_energy: 50, min_valence: 50 } },
  { mood: 'focus', synonyms: ['study', 'studying', 'concentration', 'work', 'background', 'instrumental'], positions: { min_instrumentalness: 90, max_speechiness: 50 } },
  { mood: 'energetic', synonyms: ['intense', 'pumped', 'hype', 'powerful'], positions: { min_energy: 80 } },
  { mood: 'dark', synonyms: ['aggressive', 'angry', 'brooding', 'tense'], positions: { max_valence: 30, min_energy: 60 } },
  { mood: 'romantic', synonyms: ['love', 'sensual', 'smooth', 'slow jam', 'date night'], positions: { max_energy: 40, min_danceability: 40, max_speechiness: 75 } },
  { mood: 'live', synonyms: ['concert', 'in concert', 'live recording'], positions: { min_liveness: 95 } },
];

/** The mood a word names, by its own name or a synonym (case and surrounding spaces ignored). */
export function findMood(word: string): MoodDefinition | undefined {
  const w = word.trim().toLowerCase();
  return MOODS.find((m) => m.mood === w) ?? MOODS.find((m) => m.synonyms.includes(w));
}

/** Split a bound name: `max_energy` → ['max', 'energy']. */
export function boundParts(name: MoodBoundName): ['min' | 'max', MoodFeature] {
  return [name.slice(0, 3) as 'min' | 'max', name.slice(4) as MoodFeature];
}
