import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The real dataset the tests read: MUSIC_DATASET, else ../shared/data beside the repository. Never copied in. */
export const DATASET_PATH =
  process.env.MUSIC_DATASET ?? fileURLToPath(new URL('../../../shared/data/tidytuesday_spotify_songs.csv', import.meta.url));

if (!existsSync(DATASET_PATH)) {
  throw new Error(`test dataset not found at ${DATASET_PATH}; set MUSIC_DATASET to a copy of tidytuesday_spotify_songs.csv`);
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
