/**
 * Tool latency over stdio next to MCP `ping` (the protocol floor), and the same recommendation as one
 * DuckDB SQL query over the marts, in one run.
 *
 *   npx tsx bench/tool-latency.ts [--rounds=200] [--sql-reps=40] [--data-dir=DIR] [--write-docs] [--bin=path/to/bin/music-mcp-server.js]
 *     [--baseline-bin=other/checkout/bin/music-mcp-server.js [--baseline-data-dir=DIR2]]
 *
 * Part 1: one server process (`node bin/music-mcp-server.js --stdio`) and the SDK client, as a desktop
 * client runs it. After tools/list (the client then validates every structuredContent against the
 * tool's outputSchema, part of what a client waits for) and a warm-up, each round calls every tool once
 * (rotating through several argument sets) with a `ping` before each call. Latency = client-side
 * round trip. With --baseline-bin, a second server (another checkout, e.g. before a change) answers the
 * same rounds in the same run, the two servers taking turns, and a before/after table compares them;
 * with --baseline-data-dir it serves that data dir's snapshot (the same warehouse published by each
 * checkout, for a change of the snapshot format).
 * Part 2: recommend_by_genre queries (a genre plus min/max bounds) answered (a) in memory by the tool's
 * own code (resolveSeeds + runRecommendation, the handler minus the protocol) on the same snapshot, and
 * (b) by one SQL query over the marts of the built warehouse.duckdb (opened read-only), prepared once,
 * computing the same ranking (typicality against the genre's medians and stddevs, popularity, song
 * dedupe). The top-10 ids of both are compared.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import type { GenreProfile } from '../src/catalog/snapshot.js';
import { resolveSeeds, runRecommendation } from '../tools/recommend-shared.js';
import {
  benchGenres, binRuns, builtDataDir, emit, loadAverage, log, machineNotes, median, met, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, servedCatalog, summarize, today, toolArgsFor, type Summary,
} from './lib.js';

type ToolResult = { isError?: boolean; content: { text?: string }[] };

interface StdioFigures { tools: Record<string, Summary & { bytes: number }>; ping: Summary }

/** One server process over stdio and the SDK client, after tools/list; `round(n)` pings and calls every tool once. */
async function stdioServer(dataDir: string, bin: string, argSets: Record<string, Record<string, unknown>[]>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, '--stdio'],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench-latency', version: '1' });
  await client.connect(transport);
  await client.listTools();
  const names = Object.keys(argSets);
  const call = async (name: string, n: number) => {
    const sets = argSets[name]!;
    const t = performance.now();
    const r = (await client.callTool({ name, arguments: sets[n % sets.length]! })) as ToolResult;
    const dt = performance.now() - t;
    if (r.isError) throw new Error(`${bin}: ${name} ${JSON.stringify(sets[n % sets.length])}: ${r.content[0]?.text}`);
    return { dt, bytes: JSON.stringify(r).length };
  };
  const times: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const bytes: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const pings: number[] = [];
  return {
    async warmUp() {
      for (let n = 0; n < 20; n++) for (const name of names) await call(name, n);
      for (let n = 0; n < 20; n++) await client.ping();
    },
    async round(n: number) {
      for (const name of names) {
        const t = performance.now();
        await client.ping();
        pings.push(performance.now() - t);
        const r = await call(name, n);
        times[name]!.push(r.dt);
        bytes[name]!.push(r.bytes);
      }
    },
    async close(): Promise<StdioFigures> {
      await client.close();
      const tools = Object.fromEntries(
        names.map((k) => [k, { ...summarize(times[k]!), bytes: Math.round(bytes[k]!.reduce((a, b) => a + b, 0) / bytes[k]!.length) }]),
      );
      return { tools, ping: summarize(pings) };
    },
  };
}

/**
 * The stdio part: this tree's server and, with `baselineBin`, a second server (another checkout's bin)
 * measured in the same run, round by round, the two taking turns to go first.
 */
async function stdioPart(
  dataDir: string, rounds: number, argSets: Record<string, Record<string, unknown>[]>, bin = SERVER_BIN, baselineBin?: string, baselineDataDir = dataDir,
): Promise<{ current: StdioFigures; baseline?: StdioFigures }> {
  const current = await stdioServer(dataDir, bin, argSets);
  const baseline = baselineBin ? await stdioServer(baselineDataDir, baselineBin, argSets) : undefined;
  const servers = baseline ? [current, baseline] : [current];
  log('stdio: warm-up');
  for (const s of servers) await s.warmUp();
  for (let n = 0; n < rounds; n++) {
    for (const s of n % 2 ? [...servers].reverse() : servers) await s.round(n);
    if ((n + 1) % 50 === 0) log(`stdio: round ${n + 1}/${rounds}`);
  }
  return { current: await current.close(), ...(baseline ? { baseline: await baseline.close() } : {}) };
}

/** Before/after rows: each tool's p50 and p99 over its own server's ping p50. */
function comparisonRows(current: StdioFigures, baseline: StdioFigures): string[] {
  const over = (f: StdioFigures, name: string) => {
    const s = f.tools[name]!;
    return `${ms(s.p50 - f.ping.p50)} / ${ms(s.p99 - f.ping.p50)}`;
  };
  return [
    `| \`ping\` p50 / p99 | ${ms(baseline.ping.p50)} / ${ms(baseline.ping.p99)} | ${ms(current.ping.p50)} / ${ms(current.ping.p99)} | |`,
    ...Object.keys(current.tools).map((name) => {
      const ratio = (current.tools[name]!.p50 - current.ping.p50) / (baseline.tools[name]!.p50 - baseline.ping.p50);
      return `| \`${name}\` | ${over(baseline, name)} | ${over(current, name)} | ${ratio.toFixed(2)} |`;
    }),
  ];
}

/** recommend_by_genre queries for the SQL comparison: a genre plus min/max bounds. */
interface SqlQuery { label: string; genre: string; bounds: Record<string, [number | null, number | null]>; includeExplicit: boolean }

/** Six queries over genres picked from the catalog (bench/lib.ts benchGenres): one bound mix each. */
function sqlQueries(genres: readonly GenreProfile[]): SqlQuery[] {
  const mixes: Omit<SqlQuery, 'genre' | 'label'>[] = [
    { bounds: { energy: [0.7, null], valence: [0.7, null] }, includeExplicit: true },
    { bounds: { energy: [null, 0.5], acousticness: [0.3, null] }, includeExplicit: true },
    { bounds: { danceability: [0.7, null], popularity: [50, null] }, includeExplicit: true },
    { bounds: {}, includeExplicit: true },
    { bounds: { speechiness: [0.2, null], valence: [null, 0.6] }, includeExplicit: false },
    { bounds: { energy: [0.6, 0.9] }, includeExplicit: true },
  ];
  const picked = benchGenres(genres, mixes.length);
  return mixes.map((m, i) => {
    const genre = picked[i % picked.length]!;
    const bounds = Object.entries(m.bounds).map(([f, [lo, hi]]) => (lo !== null && hi !== null ? `${f} ${lo}–${hi}` : lo !== null ? `${f} ≥ ${lo}` : `${f} ≤ ${hi}`));
    if (!m.includeExplicit) bounds.unshift('no explicit');
    return { ...m, genre, label: `${genre}, ${bounds.join(', ') || 'no bounds'}` };
  });
}

/** Same order as recommend.ts TYPICALITY_FEATURES (the order of the sum matters for exact ties). */
const TYPICALITY = ['danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness', 'liveness', 'loudness', 'tempo'];

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** recommend_by_genre (genre seed, min/max bounds, explicit filter, limit) as one SQL query over the marts. */
export function recommendSql(q: SqlQuery, limit: number): string {
  const where = Object.entries(q.bounds).flatMap(([attr, [min, max]]) => [
    ...(min !== null ? [`t.${attr} >= ${min}`] : []),
    ...(max !== null ? [`t.${attr} <= ${max}`] : []),
  ]);
  if (!q.includeExplicit) where.push('not coalesce(t.explicit, false)');
  const z = TYPICALITY.map((f) => `pow((coalesce(t.${f}, 0) - coalesce(g.${f}_p50, 0)) / greatest(coalesce(g.${f}_stddev, 1), 1e-6), 2)`);
  return `
with g as (select * from marts.genre_profiles where genre = ${lit(q.genre)}),
pool as (select distinct track_id from marts.bridge_track_genres where genre = ${lit(q.genre)}),
filtered as (
  select t.*, 0.6 * exp(-0.5 * ((${z.join(' + ')}) / ${TYPICALITY.length})) + 0.4 * coalesce(t.popularity, 0) / 100.0 as score
  from marts.dim_tracks t join pool using (track_id) cross join g
  ${where.length ? `where ${where.join(' and ')}` : ''}
),
songs as (
  select *, count(*) over () as after_filtering,
    row_number() over (partition by coalesce(canonical_track_id, track_id) order by score desc, track_id) as song_rank
  from filtered
)
select track_id, track_name, artist_names, album_name, release_year, popularity, duration_ms, explicit, genres, subgenres,
  danceability, energy, valence, acousticness, instrumentalness, speechiness, liveness, loudness, tempo, key, mode,
  score, after_filtering
from songs where song_rank = 1
order by score desc, track_id
limit ${limit}`;
}

function toolArgs(q: SqlQuery, limit: number): Record<string, unknown> {
  const a: Record<string, unknown> = { limit, include_explicit: q.includeExplicit, diversity: 0 };
  for (const [attr, [min, max]] of Object.entries(q.bounds)) {
    if (min !== null) a[`min_${attr}`] = min;
    if (max !== null) a[`max_${attr}`] = max;
  }
  return a;
}

interface SqlRow { label: string; memory: Summary; sqlPrepared: Summary; sqlAdHoc: Summary; same: boolean; afterFiltering: [number, number] }

async function sqlPart(dataDir: string, reps: number): Promise<{ rows: SqlRow[]; tracks: number }> {
  // The served catalog as the server loads it (a catalog prepared again from the marts would fit its metric anew: minutes at 1M).
  const catalog = await servedCatalog(dataDir);
  const SQL_QUERIES = sqlQueries(catalog.genres);
  const instance = await DuckDBInstance.create(join(dataDir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
  const conn: DuckDBConnection = await instance.connect();
  const limit = 10;
  const out: SqlRow[] = [];
  try {
    for (const q of SQL_QUERIES) {
      const args = toolArgs(q, limit);
      const inMemory = () => {
        const seeds = resolveSeeds(catalog, [q.genre], args as Parameters<typeof resolveSeeds>[2]);
        if (!Array.isArray(seeds)) throw new Error(`seed ${q.genre} did not resolve`);
        const r = runRecommendation(catalog, seeds, args as Parameters<typeof runRecommendation>[2], true);
        if (r.isError) throw new Error(`in-memory ${q.label}: ${JSON.stringify(r.content)}`);
        return r.structuredContent as { tracks: { track_id: string }[]; after_filtering: number };
      };
      const sql = recommendSql(q, limit);
      const prepared = await conn.prepare(sql);
      for (let i = 0; i < 5; i++) {
        inMemory();
        await prepared.runAndReadAll();
      }
      const mem: number[] = [];
      const pre: number[] = [];
      const adhoc: number[] = [];
      let memResult = inMemory();
      let sqlRows: Record<string, unknown>[] = [];
      for (let i = 0; i < reps; i++) {
        let t = performance.now();
        memResult = inMemory();
        mem.push(performance.now() - t);
        t = performance.now();
        sqlRows = (await prepared.runAndReadAll()).getRowObjectsJS();
        pre.push(performance.now() - t);
        t = performance.now();
        await conn.runAndReadAll(sql);
        adhoc.push(performance.now() - t);
      }
      const memIds = memResult.tracks.map((t) => t.track_id);
      const sqlIds = sqlRows.map((r) => String(r.track_id));
      out.push({
        label: q.label, memory: summarize(mem), sqlPrepared: summarize(pre), sqlAdHoc: summarize(adhoc),
        same: memIds.join(',') === sqlIds.join(','), afterFiltering: [memResult.after_filtering, Number(sqlRows[0]?.after_filtering ?? 0)],
      });
      log(`sql: ${q.label}: memory p50 ${ms(summarize(mem).p50)} ms, SQL p50 ${ms(summarize(pre).p50)} ms, same top-${limit}: ${memIds.join(',') === sqlIds.join(',')}`);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  return { rows: out, tracks: catalog.size };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const rounds = numArg(args, 'rounds', 200);
  const reps = numArg(args, 'sql-reps', 40);
  const { dir, cleanup } = await builtDataDir(args);
  try {
    const loadBefore = loadAverage();
    const served = await servedCatalog(dir);
    const argSets = toolArgsFor(served);
    const sourceName = served.manifest.source.dataset;
    const baselineBin = args.get('baseline-bin');
    const baselineDataDir = args.get('baseline-data-dir');
    const { current, baseline } = await stdioPart(dir, rounds, argSets, args.get('bin'), baselineBin, baselineDataDir);
    const { tools, ping } = current;
    const loadMid = loadAverage();
    const { rows: sql, tracks: trackCount } = await sqlPart(dir, reps);
    const loadAfter = loadAverage();

    const toolRows = Object.entries(tools).map(([name, s]) => {
      const over = s.p50 - ping.p50;
      return `| \`${name}\` | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(over)} | ${(s.bytes / 1024).toFixed(1)} KiB | ${met(over <= 1)} |`;
    });
    const geo = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
    const ratios = sql.map((r) => r.sqlPrepared.p50 / r.memory.p50);
    const stdioRec = tools.recommend_by_genre!.p50;
    const sqlRows = sql.map(
      (r, i) =>
        `| ${r.label} | ${r.afterFiltering[0].toLocaleString('en-US')} | ${ms(r.memory.p50)} / ${ms(r.memory.p99)} | ${ms(r.sqlPrepared.p50)} / ${ms(r.sqlPrepared.p99)} | ${ms(r.sqlAdHoc.p50)} | **${ratios[i]!.toFixed(1)}×** | ${r.same ? 'yes' : 'no'} |`,
    );
    const minRatio = Math.min(...ratios);
    const medianRatio = median(ratios);

    emit(args, 'tool-latency', `
## Tool latency over stdio vs \`ping\`, and the same recommendation in SQL (\`bench/tool-latency.ts\`)

\`\`\`sh
npx tsx bench/tool-latency.ts --rounds=${rounds} --sql-reps=${reps}${baselineBin ? ` --baseline-bin=${baselineBin}` : ''}     # --data-dir=DIR
\`\`\`

**Stdio.** One server process (\`node bin/music-mcp-server.js --stdio\`, which ran ${binRuns()}) on the snapshot of ${sourceName}
(${trackCount.toLocaleString('en-US')} tracks) and the SDK \`Client\` over \`StdioClientTransport\`, after \`tools/list\` (so the client
validates each \`structuredContent\` against the tool's \`outputSchema\`, as real clients do) and 20 warm-up
rounds. ${rounds} rounds, each calling every tool once (rotating through ${Object.values(argSets).reduce((a, v) => a + v.length, 0)} argument sets over genres and artists picked from the catalog, see
\`toolArgsFor\` in \`bench/lib.ts\`) with a \`ping\` before each call: ${ping.n.toLocaleString('en-US')} pings and ${(rounds * Object.keys(tools).length).toLocaleString('en-US')} tool calls.
Client-side round trips in ms.

**Machine**: ${machineNotes()}; load average (1/5/15 min) ${loadBefore} at the start, ${loadMid} after the stdio part, ${loadAfter} at the end. ${today()}.

| | p50 | p90 | p99 | p50 − ping p50 | answer size | target p50 ≤ ping + 1 ms |
|---|---:|---:|---:|---:|---:|---|
| \`ping\` (protocol floor) | ${ms(ping.p50)} | ${ms(ping.p90)} | ${ms(ping.p99)} | | | |
${toolRows.join('\n')}
${baseline ? `
**Before / after.** The same rounds against a second server, \`node ${baselineBin} --stdio\` (the baseline), on ${baselineDataDir ? `its own publish of the same warehouse (${baselineDataDir})` : 'the same\nsnapshot'} in the same run: each round pings and calls every tool on one server, then on the other, the two
taking turns to go first. Each figure is the tool's p50 (and p99) minus its own server's ping p50, in ms;
ratio = this tree's p50 over ping ÷ the baseline's.

| | baseline: p50 / p99 over ping | this tree: p50 / p99 over ping | ratio |
|---|---:|---:|---:|
${comparisonRows(current, baseline).join('\n')}
` : ''}
**In memory vs one SQL query.** The recommend_by_genre ranking (genre seed, min/max bounds, explicit
filter, limit 10) answered (a) in process by the tool's own code on the same snapshot
(\`resolveSeeds\` + \`runRecommendation\`: filter, score, top-k, song dedupe, reasons, rendering) and
(b) by one DuckDB query over the marts of the built \`warehouse.duckdb\` (opened \`READ_ONLY\`; \`dim_tracks\`
⋈ \`bridge_track_genres\` ⋈ \`genre_profiles\`, the same typicality-and-popularity score, one row per song,
\`order by score desc, track_id limit 10\`; SQL in \`recommendSql()\`), prepared once (and ad hoc, parsed
and planned each time, for reference). ${reps} repetitions each, interleaved. Ratio = SQL (prepared) p50 ÷ in-memory p50.

| query | pass filters | in memory p50 / p99 ms | SQL prepared p50 / p99 ms | SQL ad hoc p50 ms | ratio | same top 10 |
|---|---:|---:|---:|---:|---:|---|
${sqlRows.join('\n')}

In-memory vs SQL: **median ${medianRatio.toFixed(1)}×** over the ${ratios.length} queries (${minRatio.toFixed(1)}× to ${Math.max(...ratios).toFixed(1)}×, geometric mean ${geo(ratios).toFixed(1)}×); target ≥ 10×: ${met(medianRatio >= 10)} by the median${minRatio < 10 ? `, not for every query (${ratios.filter((r) => r < 10).length} below 10×)` : ', and for every query'}.
Even the whole tool call over stdio (recommend_by_genre p50 ${ms(stdioRec)} ms, protocol and schema
validation included) is ${(geo(sql.map((r) => r.sqlPrepared.p50)) / stdioRec).toFixed(1)}× faster than the SQL query alone (geometric mean of the SQL p50s).
`, [
      ...Object.entries(tools).map(([name, s]) => ({
        target: `stdio p50 ≤ ping p50 + 1 ms: ${name}`, figure: `${ms(s.p50)} ms (ping ${ms(ping.p50)} ms; p99 ${ms(s.p99)} ms)`, met: s.p50 - ping.p50 <= 1, load: loadMid,
      })),
      { target: 'in-memory recommendation ≥ 10× faster than one DuckDB SQL query', figure: `median ${medianRatio.toFixed(1)}× (${minRatio.toFixed(1)}–${Math.max(...ratios).toFixed(1)}×)`, met: medianRatio >= 10, load: loadAfter },
    ]);
  } finally {
    cleanup();
  }
}

await main();
