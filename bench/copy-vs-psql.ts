/**
 * PostgreSQL staging ingest vs `psql \copy`, on the same CSV, in one run.
 *
 *   npx tsx bench/copy-vs-psql.ts [--reps=7] [--url=postgres://postgres@127.0.0.1:5432/postgres] [--file=path.csv]
 *
 * Creates a scratch database (random name, dropped at the end) on the server at --url
 * (default $STAGING_TEST_URL or the local server). Per repetition, in alternating order:
 * - psql: `psql -c "\copy bench.csv_rows FROM file (FORMAT csv, HEADER, NULL 'NA')"`, wall time of the
 *   psql process (connect + COPY + commit) into an emptied table with the CSV's columns, typed
 *   (integer / double precision / text, inferred from the file);
 * - ours: `ingestCsv` with `PostgresStagingStore` into emptied staging tables (connect, tokenize,
 *   validate, hash, binary COPY FROM STDIN straight into the empty staging.tracks, commit);
 * - ours, rerun: the same file again over the staged rows (every row unchanged: binary COPY into a temp
 *   table, compare by key and hash, nothing written);
 * - parse only: `ingestCsv` into a store that discards rows (tokenize + validate + hash, no database).
 * One warm-up round is not counted. Reported: median and min per variant and the ratio of medians
 * ours / psql (the issue's target: at most 2×). Results go to stdout.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parse } from 'csv-parse';
import pg from 'pg';
import { ingestCsv } from '../src/pipeline/ingest.js';
import { PostgresStagingStore } from '../src/warehouse/postgres-staging.js';
import type { StageResult, StagingLoad, StagingStore } from '../src/warehouse/staging.js';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, ...v] = a.replace(/^--/, '').split('=');
    return [k!, v.join('=')] as const;
  }),
);
const reps = Number(args.get('reps') ?? 7);
const serverUrl = args.get('url') ?? process.env.STAGING_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const file =
  args.get('file') ??
  process.env.MUSIC_DATASET ??
  fileURLToPath(new URL('../../shared/data/tidytuesday_spotify_songs.csv', import.meta.url));
if (!existsSync(file)) {
  process.stderr.write(`no CSV at ${file}; pass --file=path.csv or set MUSIC_DATASET\n`);
  process.exit(2);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

/** The CSV's header and a PostgreSQL type per column, inferred from the first 2,000 rows ('NA' and '' are NULL). */
async function inferColumns(path: string): Promise<{ name: string; type: string }[]> {
  const parser = createReadStream(path).pipe(parse({ bom: true, relax_column_count: true, relax_quotes: true, to: 2_001 }));
  let header: string[] | null = null;
  const kinds: ('int' | 'num' | 'text' | null)[] = [];
  for await (const record of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = record;
      continue;
    }
    record.forEach((cell, i) => {
      if (cell === '' || cell === 'NA') return;
      const kind = /^-?\d+$/.test(cell) ? 'int' : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell) ? 'num' : 'text';
      const prev = kinds[i] ?? null;
      kinds[i] = prev === null ? kind : prev === kind ? prev : prev === 'text' || kind === 'text' ? 'text' : 'num';
    });
  }
  if (!header) throw new Error(`${path} has no header`);
  return header.map((h, i) => ({
    name: h.trim() === '' ? `col_${i}` : h.trim(),
    type: kinds[i] === 'int' ? 'bigint' : kinds[i] === 'num' ? 'double precision' : 'text',
  }));
}

function timePsql(url: string, command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`psql failed (${code}): ${stderr}`))));
  });
}

/** A store that keeps nothing: ingestCsv's own cost (tokenize, validate, hash). */
const nullStore: StagingStore = {
  ensureSchema: async () => undefined,
  beginLoad: async (): Promise<StagingLoad> => {
    let n = 0;
    return {
      appendTracks: async (rows) => void (n += rows.length),
      appendRejects: async () => undefined,
      commit: async (): Promise<StageResult> => ({ inserted: n, updated: 0, unchanged: 0, deleted: 0, rejects: 0, staleRejectsRemoved: 0 }),
      abort: async () => undefined,
    };
  },
};

const loadAtStart = loadavg();
const dbName = `music_bench_${randomBytes(5).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(serverUrl);
url.pathname = `/${dbName}`;
const dbUrl = url.toString();
const client = new pg.Client({ connectionString: dbUrl });

try {
  await client.connect();
  const columns = await inferColumns(file);
  await client.query(
    `CREATE SCHEMA bench; CREATE TABLE bench.csv_rows (${columns.map((c) => `"${c.name.replaceAll('"', '""')}" ${c.type}`).join(', ')})`,
  );
  const setup = new PostgresStagingStore(dbUrl);
  await setup.ensureSchema();
  await setup.close();
  const psqlCopy = `\\copy bench.csv_rows FROM '${file.replaceAll("'", "''")}' WITH (FORMAT csv, HEADER true, NULL 'NA')`;

  const times = { psql: [] as number[], ours: [] as number[], rerun: [] as number[], parseOnly: [] as number[] };
  let rows = 0;
  for (let rep = 0; rep <= reps; rep++) {
    const round: Partial<Record<keyof typeof times, number>> = {};
    const runPsql = async () => {
      await client.query('TRUNCATE bench.csv_rows');
      round.psql = await timePsql(dbUrl, psqlCopy);
    };
    const runOurs = async () => {
      await client.query('TRUNCATE staging.tracks, staging.track_rejects');
      let store = new PostgresStagingStore(dbUrl);
      let t = performance.now();
      const report = await ingestCsv({ path: file, store });
      round.ours = performance.now() - t;
      await store.close();
      rows = report.rowsRead;
      if (report.inserted !== report.rowsStaged) throw new Error(`expected a fresh load, got ${JSON.stringify(report)}`);
      store = new PostgresStagingStore(dbUrl);
      t = performance.now();
      const again = await ingestCsv({ path: file, store });
      round.rerun = performance.now() - t;
      await store.close();
      if (again.unchanged !== again.rowsStaged) throw new Error(`expected an unchanged rerun, got ${JSON.stringify(again)}`);
    };
    // Alternate which goes first, so drift (page cache, CPU frequency, other load) hits both alike.
    if (rep % 2) {
      await runOurs();
      await runPsql();
    } else {
      await runPsql();
      await runOurs();
    }
    const t = performance.now();
    await ingestCsv({ path: file, store: nullStore });
    round.parseOnly = performance.now() - t;
    if (rep === 0) continue; // warm-up
    for (const k of Object.keys(times) as (keyof typeof times)[]) times[k].push(round[k]!);
    process.stderr.write(`rep ${rep}/${reps}: ${Object.entries(round).map(([k, v]) => `${k} ${fmt(v!)}`).join(', ')}\n`);
  }

  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof times, number>;
  const [server] = (await client.query<{ v: string }>('SHOW server_version')).rows.map((r) => ({ v: String(r['server_version' as 'v'] ?? '') }));
  const lines = [
    `file: ${file} (${rows.toLocaleString('en')} rows); ${reps} repetitions after 1 warm-up; PostgreSQL ${server?.v ?? '?'}`,
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ` +
      `load average (1/5/15 min) at start ${loadAtStart.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    '',
    '| variant | median | min |',
    '|---|---|---|',
    `| psql \\copy (connect + COPY, typed CSV-shaped table) | ${fmt(m.psql)} | ${fmt(Math.min(...times.psql))} |`,
    `| ours: ingestCsv → PostgresStagingStore, fresh load | ${fmt(m.ours)} | ${fmt(Math.min(...times.ours))} |`,
    `| ours: rerun, every row unchanged | ${fmt(m.rerun)} | ${fmt(Math.min(...times.rerun))} |`,
    `| ingestCsv parse + validate + hash only (no database) | ${fmt(m.parseOnly)} | ${fmt(Math.min(...times.parseOnly))} |`,
    '',
    `ratio ours / psql (medians): fresh ${(m.ours / m.psql).toFixed(2)}×, rerun ${(m.rerun / m.psql).toFixed(2)}× (target ≤ 2×)`,
    `database share of ours (fresh load − parse only): ${fmt(m.ours - m.parseOnly)} = ${((m.ours - m.parseOnly) / m.psql).toFixed(2)}× psql`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await client.end().catch(() => undefined);
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
