import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The real dataset the tests read: MUSIC_DATASET, else ../shared/data beside the repository. Never copied in. */
export const DATASET_PATH =
  process.env.MUSIC_DATASET ?? fileURLToPath(new URL('../../../shared/data/tidytuesday_spotify_songs.csv', import.meta.url));

if (!existsSync(DATASET_PATH)) {
  throw new Error(`test dataset not found at ${DATASET_PATH}; set MUSIC_DATASET to a copy of tidytuesday_spotify_songs.csv`);
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A copy of the real dataset under `dir` (same file name, so the same source) with one value changed:
 * line 2's energy 0.916 → 0.5. Returns its path.
 */
export async function writeChangedCopy(dir: string): Promise<string> {
  const changed = join(dir, 'tidytuesday_spotify_songs.csv');
  const out = createWriteStream(changed);
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(DATASET_PATH) })) {
    n++;
    out.write((n === 2 ? line.replace(',0.748,0.916,', ',0.748,0.5,') : line) + '\n');
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return changed;
}
