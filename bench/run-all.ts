/**
 * Run every benchmark of issue 7. Each writes its results (markdown and JSON with the load average and
 * CPU) into one folder of this run, bench/results/<stamp>/; docs/BENCHMARKS.md changes only with
 * --write-docs (their sections and the summary; other sections stay).
 *
 *   npm run bench                       # = npx tsx bench/run-all.ts
 *   npx tsx bench/run-all.ts --only=cold-start,tool-latency --data-dir=DIR [--write-docs]
 *
 * Order: the pipeline first (its last fresh run leaves the data dir the others use, unless --data-dir
 * is given), then cold start, tool latency + SQL, HTTP load and scale, each in its own process, one at
 * a time. A "targets at a glance" section summarises every target with its figure. The load average is
 * recorded next to every figure: on a shared machine, rerun when it is low.
 *
 * Not run here: bench/copy-vs-psql.ts (needs PostgreSQL) and bench/spotify-throughput.ts (its own
 * sections, written by hand).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAverage, log, machineNotes, parseArgs, REPO_ROOT, RESULTS_DIR, stamp, TSX, today, writeSection, type TargetRow } from './lib.js';

const BENCHES = ['pipeline', 'cold-start', 'tool-latency', 'http-load', 'scale'] as const;

function run(name: string, args: string[], env: Record<string, string>): Promise<void> {
  log(`\n=== bench/${name}.ts ${args.join(' ')} (load average ${loadAverage()})`);
  return new Promise((resolve, reject) => {
    const c = spawn(TSX, [join(REPO_ROOT, `bench/${name}.ts`), ...args], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/${name}.ts exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const args = parseArgs();
  const only = args.get('only')?.split(',') ?? [...BENCHES];
  const unknown = only.filter((b) => !(BENCHES as readonly string[]).includes(b));
  if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHES.join(', ')}`);
  const root = mkdtempSync(join(tmpdir(), 'music-mcp-bench-all-'));
  const summaryFile = join(root, 'targets.jsonl');
  const results = join(RESULTS_DIR, stamp());
  const env = { BENCH_SUMMARY_FILE: summaryFile, BENCH_RESULTS_DIR: results };
  const docs = args.has('write-docs') ? ['--write-docs'] : [];
  log(`results of this run: ${results}/`);
  let dataDir = args.get('data-dir');
  const failed: string[] = [];
  try {
    if (only.includes('pipeline')) {
      const keep = dataDir ? undefined : join(root, 'data');
      await run('pipeline', [...docs, ...(keep ? [`--keep=${keep}`] : [])], env).catch((err: Error) => failed.push(err.message));
      if (keep && existsSync(join(keep, 'snapshots/CURRENT'))) dataDir = keep;
    }
    const dataArgs = dataDir ? [`--data-dir=${dataDir}`] : [];
    for (const name of BENCHES.filter((b) => b !== 'pipeline' && only.includes(b))) {
      await run(name, [...docs, ...dataArgs], env).catch((err: Error) => failed.push(err.message));
    }
    const rows = existsSync(summaryFile)
      ? readFileSync(summaryFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TargetRow & { bench: string })
      : [];
    if (rows.length && only.length === BENCHES.length) {
      const verdict = (m: boolean | null) => (m === null ? 'reported' : m ? '**met**' : '**not met**');
      const summary = `
## Issue 7 targets at a glance (\`npm run bench\`)

Written by \`bench/run-all.ts\` from the sections above (each names its command and method).
**Machine**: ${machineNotes()}. ${today()}. Load average = 1/5/15 min when the figure was taken.

| target | measured | verdict | load average | section |
|---|---|---|---|---|
${rows.map((r) => `| ${r.target} | ${r.figure} | ${verdict(r.met)} | ${r.load} | ${r.bench} |`).join('\n')}

Reliability is covered by tests (no timing assertions; \`npx vitest run tests/<file>\`) and a soak:
\`tests/fuzz-tools.test.ts\` (fast-check, ~4,000 cases over every tool through the SDK client),
\`tests/jsonrpc-robustness.test.ts\` (malformed JSON-RPC over stdio and HTTP, including -32602 for malformed params),
\`tests/publish-while-serving.test.ts\`, \`tests/pipeline-kill.test.ts\` (kill -9 in ingest, transform and
publish, then rerun: same counts and checksums) and \`tests/units.test.ts\` (log redaction);
\`npx tsx bench/soak.ts --minutes=10\` runs the publish and kill scenarios for longer.
`;
      mkdirSync(results, { recursive: true });
      writeFileSync(join(results, 'targets.md'), summary.trimStart());
      if (docs.length) writeSection('targets', summary);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  if (failed.length) {
    log(`failed: ${failed.join('; ')}`);
    process.exit(1);
  }
}

await main();
