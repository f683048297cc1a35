// Datasets for the evaluation scripts (`npm run eval`, `npm run eval:resolver`): each dataset's published snapshot,
// read from a data dir given as `--data-dir <dataset>=<dir>` or built by the pipeline in a temporary dir; and the
// writing of a generated section between its markers in a document.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSnapshot, type Snapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { runPipeline } from '../src/pipeline/run.js';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));
/** Where the dataset files are: MUSIC_DATASET_DIR or ../shared/data. */
export const dataRoot = process.env.MUSIC_DATASET_DIR ?? join(repoRoot, '../shared/data');

/** Every value of a repeatable option (`--name value`). */
export function optionValues(args: readonly string[], name: string): string[] {
  return args.flatMap((a, i) => (a === name && args[i + 1] ? [args[i + 1]!] : []));
}

/** `--data-dir <dataset>=<dir>` options as a map. */
export function givenDataDirs(args: readonly string[]): Map<string, string> {
  return new Map(optionValues(args, '--data-dir').map((s) => s.split('=', 2) as [string, string]));
}

/** The published snapshot of `dataset` (a file name in dataRoot without `.csv`); `cleanup` removes a temporary build. */
export async function snapshotFor(dataset: string, given: ReadonlyMap<string, string>): Promise<{ snapshot: Snapshot; cleanup: () => void }> {
  const dir = given.get(dataset);
  if (dir) return { snapshot: await readSnapshot(join(dir, 'snapshots')), cleanup: () => {} };
  const tmp = mkdtempSync(join(tmpdir(), 'music-eval-'));
  const config = loadConfig({ MUSIC_DATA_DIR: tmp, MUSIC_DATASET: join(dataRoot, `${dataset}.csv`), LOG_LEVEL: 'silent' });
  await runPipeline(config, silentLogger);
  return { snapshot: await readSnapshot(config.snapshotDir), cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

/** Replace the text between `<!-- name -->` and `<!-- /name -->` (markers included in `section`), or append it. */
export function writeSection(file: string, name: string, section: string): void {
  const doc = readFileSync(file, 'utf8');
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  writeFileSync(file, start >= 0 && end > start ? doc.slice(0, start) + section + doc.slice(end + close.length) : `${doc.trimEnd()}\n\n${section}\n`);
}
