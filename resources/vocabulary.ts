import { bandsOf, DESCRIBED_FEATURES, type Band, type DescribedFeature } from '../src/features.js';

/**
 * Words for audio-feature values, used in the generated genre and artist profiles and listed in the
 * glossary (which renders these bands, so the two cannot disagree). Moods ("chill", "party") are
 * defined apart, by percentile positions of the served catalog (src/catalog/moods.ts).
 */

/** Features described in words (the feature registry's `described` ones): 0–1 features, tempo in BPM, loudness in dB. */
export type { DescribedFeature, Band } from '../src/features.js';

/**
 * Word for a value: the first band whose `below` exceeds it (the last band catches the rest).
 * Cut points are fixed on each feature's own scale (Spotify's documented thresholds where it gives
 * them: speechiness 0.33, liveness 0.8), so a word means the same value in every catalog. The bands
 * live with each feature in src/features.ts.
 */
export const FEATURE_BANDS: Readonly<Record<DescribedFeature, readonly Band[]>> = Object.fromEntries(
  DESCRIBED_FEATURES.map((f) => [f, bandsOf(f)]),
) as Record<DescribedFeature, readonly Band[]>;

export { DESCRIBED_FEATURES };

export function describe(feature: DescribedFeature, value: number): string {
  const bands = FEATURE_BANDS[feature];
  return (bands.find((b) => value < b.below) ?? bands[bands.length - 1]!).word;
}
