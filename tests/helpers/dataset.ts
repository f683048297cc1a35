import { createReadStream, createWriteStream, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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

/**
 * A version of the real dataset under `dir` (same file name, so the same source): its header and those of
 * its first `rows` data lines that `keep(n)` accepts (n = 1 for the first data line). Returns its path.
 */
export async function writeDatasetVersion(dir: string, keep: (n: number) => boolean, rows = 400): Promise<string> {
  const path = join(dir, 'tidytuesday_spotify_songs.csv');
  const lines: string[] = [];
  let n = -1;
  for await (const line of createInterface({ input: createReadStream(DATASET_PATH) })) {
    n++;
    if (n > rows) break;
    if (n === 0 || keep(n)) lines.push(line);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/**
 * A copy of the malformed fixture at `path` in a new folder under `parent`, under the same file name (so
 * the same source), with line 3's missing track_id filled in. Returns its path.
 */
export async function writeFixedMalformedCopy(path: string, parent: string): Promise<string> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: createReadStream(path) })) lines.push(line);
  lines[2] = `0r7CVbZTWZgbTCYdfa2P31${lines[2]}`;
  const fixed = join(mkdtempSync(join(parent, 'fixed-')), 'tidytuesday-malformed.csv');
  writeFileSync(fixed, lines.join('\n') + '\n');
  return fixed;
}
