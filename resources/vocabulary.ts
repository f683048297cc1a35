import type { UnitFeature } from '../src/catalog/recommend.js';

/**
 * Words for audio-feature values, used in the generated genre and artist profiles and listed in the
 * glossary (which renders these bands, so the two cannot disagree). Moods ("chill", "party") are
 * defined apart, by percentile positions of the served catalog (src/catalog/moods.ts).
 */

/** Features described in words. Unit features are 0–1; tempo in BPM; loudness in dB. */
export type DescribedFeature = UnitFeature | 'tempo' | 'loudness';

export interface Band { below: number; word: string }

/**
 * Word for a value: the first band whose `below` exceeds it (the last band catches the rest).
 * Cut points are fixed on each feature's own scale (Spotify's documented thresholds where it gives
 * them: speechiness 0.33, liveness 0.8), so a word means the same value in every catalog.
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
