/**
 * Pipeline step times on the real dataset.
 *
 *   npx tsx bench/pipeline.ts [--reps=1] [--keep=DIR] [--write-docs]
 *
 * Each repetition runs `scripts/pipeline.ts` (what `npm run pipeline` runs) into a fresh temp
 * MUSIC_DATA_DIR with MUSIC_DATASET = the TidyTuesday CSV (../shared/data, or $MUSIC_DATASET), then
 * once more into the same dir (an idempotent rerun: nothing changed). Step times come from the
 * pipeline's own JSON report; wall time includes process start. Enrich is skipped (no Spotify
 * credentials). With --keep=DIR the last fresh run writes into DIR and it is kept (run-all.ts passes
 * it to the other benchmarks).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DATASET, emit, loadAverage, log, machineNotes, median, ms, numArg, parseArgs, runPipelineScript, today, type PipelineRun } from './lib.js';

async function main(): Promise<void> {
  const args = parseArgs();
  const reps = numArg(args, 'reps', 1);
  const keep = args.get('keep');
  if (!existsSync(DATASET)) throw new Error(`dataset not found at ${DATASET}; set MUSIC_DATASET`);
  if (keep && existsSync(keep) && readdirSync(keep).length) throw new Error(`--keep=${keep} must be a new or empty directory`);
  const fresh: (PipelineRun & { load: string })[] = [];
  const rerun: (PipelineRun & { load: string })[] = [];
  for (let i = 0; i < reps; i++) {
    const last = i === reps - 1;
    const dir = last && keep ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), 'music-mcp-bench-pipeline-'));
    try {
      let load = loadAverage();
      log(`pipeline ${i + 1}/${reps}: fresh run into ${dir} (load average ${load})`);
      fresh.push({ ...(await runPipelineScript(dir)), load });
      load = loadAverage();
      log(`pipeline ${i + 1}/${reps}: rerun (unchanged data)`);
      rerun.push({ ...(await runPipelineScript(dir)), load });
    } finally {
      if (!(last && keep)) rmSync(dir, { recursive: true, force: true });
    }
  }
  const step = (runs: PipelineRun[], f: (r: PipelineRun['report']) => number | undefined) => ms(median(runs.map((r) => f(r.report) ?? NaN)));
  const r0 = fresh[0]!.report;
  const table = (runs: (PipelineRun & { load: string })[]) =>
    `| ${step(runs, (r) => r.ingest?.ms)} | ${step(runs, (r) => r.load?.ms)} | ${step(runs, (r) => r.transform?.ms)} | ${step(runs, (r) => r.publish?.ms)} | ${step(runs, (r) => r.ms)} | ${ms(median(runs.map((r) => r.wallMs)))} | ${runs.map((r) => r.load.split(' / ')[0]).join(', ')} |`;

  emit(args, 'pipeline', `
## Pipeline on the real dataset (\`bench/pipeline.ts\`)

\`\`\`sh
npx tsx bench/pipeline.ts --reps=${reps}     # = MUSIC_DATA_DIR=<fresh temp dir> MUSIC_DATASET=…/${basename(DATASET)} npm run pipeline, then once more
\`\`\`

\`scripts/pipeline.ts\` (\`npm run pipeline\`) on \`${basename(DATASET)}\` (${r0.ingest?.rowsRead.toLocaleString('en-US')} rows read, ${r0.ingest?.rowsStaged.toLocaleString('en-US')} staged,
${r0.ingest?.rowsRejected} rejected; ${r0.publish?.tracks.toLocaleString('en-US')} tracks, ${r0.publish?.artists.toLocaleString('en-US')} artists and ${r0.publish?.genres} genres published; dbt: ${r0.transform?.models} models, ${r0.transform?.tests} tests,
${r0.transform?.testsFailed} failed) into a fresh temp data dir (embedded DuckDB), then rerun into the same dir
(every row unchanged). Enrich is skipped (no Spotify credentials); acquire is a local file. Step times
from the pipeline's JSON report, medians of ${reps}; wall time includes starting the process (tsx).

**Machine**: ${machineNotes()}. ${today()}.

| run | ingest ms | load ms | transform (dbt) ms | publish ms | pipeline ms | wall ms | load average (1 min) |
|---|---:|---:|---:|---:|---:|---:|---|
| fresh data dir ${table(fresh)}
| rerun, unchanged ${table(rerun)}
`, [
      {
        target: 'pipeline on the real dataset: ingest / transform / publish',
        figure: `${step(fresh, (r) => r.ingest?.ms)} / ${step(fresh, (r) => r.transform?.ms)} / ${step(fresh, (r) => r.publish?.ms)} ms (whole ${step(fresh, (r) => r.ms)} ms)`,
        met: null,
        load: fresh[0]!.load,
      },
    ]);
}

await main();
