import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { runPipeline } from '../src/pipeline/run.js';
import { DATASET_PATH } from './helpers/dataset.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A data dir with the real dataset run through the whole pipeline once (shared, read-only). */
    builtDataDir: string;
    pipelineReport: string;
  }
}

/** Build the catalog once for every test file that needs a published snapshot. */
export default async function setup(project: TestProject): Promise<() => void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-built-'));
  const config = loadConfig({ MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: DATASET_PATH, LOG_LEVEL: 'silent' });
  const report = await runPipeline(config, silentLogger);
  project.provide('builtDataDir', dataDir);
  project.provide('pipelineReport', JSON.stringify(report));
  return () => rmSync(dataDir, { recursive: true, force: true });
}
