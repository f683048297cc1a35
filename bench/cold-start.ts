/**
 * Cold start over stdio, with a published snapshot.
 *
 *   npx tsx bench/cold-start.ts [--runs=10] [--data-dir=DIR] [--write-docs]
 *
 * Per run: spawn `node bin/music-mcp-server.js --stdio` (what desktop clients spawn) with the SDK
 * client, and time (a) spawn → `initialize` answered (Client.connect resolved), (b) spawn → the first
 * tools/call answered (the catalog is loaded: the server answers initialize before it loads the
 * snapshot, and a call waits for it), (c) the first call of each other tool (lazy indexes). One
 * uncounted warm-up run first (tsx's transform cache). Then, in this process, the catalog load split
 * into its parts: files read and checked, string columns decoded, indexes built, the title index of
 * name resolution, and the knowledge index built on the first search_music_knowledge call.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import { Catalog } from '../src/catalog/catalog.js';
import { runNow } from '../src/catalog/slices.js';
import { catalogParts, currentVersion, openSnapshot } from '../src/catalog/snapshot.js';
import { knowledgeFor } from '../resources/knowledge.js';
import {
  builtDataDir, distIsFresh, emit, loadAverage, log, machineNotes, median, met, ms, numArg, parseArgs, REPO_ROOT, SERVER_BIN, summarize, today,
} from './lib.js';

const FIRST_CALLS: [string, Record<string, unknown>][] = [
  ['recommend_by_genre', { genre: 'rock', limit: 10 }],
  ['similar_tracks', { seed_tracks: ['Enter Sandman – Metallica'], limit: 10 }],
  ['tracks_by_artist', { artist: 'Queen', limit: 20 }],
  ['artist_metadata', { artist: 'Queen' }],
  ['search_music_knowledge', { query: 'upbeat dance music', limit: 5 }],
];

interface ColdRun { initMs: number; firstToolMs: number; loadLogMs: number | null; firsts: Record<string, number> }

const DIST_MAIN = join(REPO_ROOT, 'dist/src/main.js');

async function coldRun(dataDir: string, entry = SERVER_BIN): Promise<ColdRun> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry, '--stdio'],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'bench-cold-start', version: '1' });
  const t0 = performance.now();
  await client.connect(transport);
  const initMs = performance.now() - t0;
  const [first, ...rest] = FIRST_CALLS;
  const r = (await client.callTool({ name: first![0], arguments: first![1] })) as { isError?: boolean };
  const firstToolMs = performance.now() - t0;
  if (r.isError) throw new Error('first tool call failed');
  const firsts: Record<string, number> = { [first![0]]: firstToolMs - initMs };
  for (const [name, args] of rest) {
    const t = performance.now();
    const res = (await client.callTool({ name, arguments: args })) as { isError?: boolean };
    if (res.isError) throw new Error(`${name} failed: ${JSON.stringify(res).slice(0, 300)}`);
    firsts[name] = performance.now() - t;
  }
  await client.close();
  const m = /"ms":(\d+)[^\n]*serving catalog loaded|serving catalog loaded[^\n]*"ms":(\d+)/.exec(stderr);
  const loadLogMs = m ? Number(m[1] ?? m[2]) : null;
  return { initMs, firstToolMs, loadLogMs, firsts };
}

/** Spawn → exit of `node -e 0`: the process floor on this machine. */
async function nodeFloor(): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.once('exit', () => resolve());
    c.once('error', reject);
  });
  return performance.now() - t0;
}

/**
 * The modules src/main.ts loads to serve, in order, as the bin would load them: its static (non-type)
 * imports, then the ones a stdio server imports once the snapshot read has started (not the pipeline,
 * which only a first build loads, nor the HTTP, cluster and client-config modules).
 */
function mainImports(dist: boolean): string[] {
  const text = readFileSync(join(REPO_ROOT, 'src/main.ts'), 'utf8');
  const staticSpecs = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)';/gms)].map((m) => m[1]!);
  const dynamicSpecs = [...text.matchAll(/import\('([^']+)'\)/g)].map((m) => m[1]!).filter((m) => !['./pipeline/run.js', './http.js', './cluster.js', './client-config.js'].includes(m));
  const specs = [...new Set([...staticSpecs, ...dynamicSpecs])];
  return specs.map((s) => (s.startsWith('.') ? (dist ? `./dist/src/${s.slice(2)}` : `./src/${s.slice(2).replace(/\.js$/, '.ts')}`) : s));
}

/** Incremental import cost of each module src/main.ts imports statically, in a fresh `node`, loaded the way the bin loads them. */
async function importCosts(dist: boolean): Promise<Record<string, number>> {
  const code = `
    const out = {};
    let t = performance.now();
    ${dist ? '' : "const { register } = await import('tsx/esm/api'); register(); out['tsx loader (TypeScript sources)'] = performance.now() - t;"}
    for (const m of ${JSON.stringify(mainImports(dist))}) { t = performance.now(); await import(m); out[m] = performance.now() - t; }
    process.stderr.write('IMPORTS ' + JSON.stringify(out) + '\\n');`;
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('error', reject);
    c.once('exit', () => {
      const m = /IMPORTS (\{.*\})/.exec(err);
      if (m) resolve(JSON.parse(m[1]!) as Record<string, number>);
      else reject(new Error(`import probe failed: ${err.slice(-500)}`));
    });
  });
}

interface LoadParts { read: number; decode: number; indexes: number; titles: number; knowledge: number; MiB: number }

/** The server's catalog load in this process, part by part, each run at once (no slicing). */
async function loadParts(snapshotDir: string, version: string): Promise<LoadParts> {
  const t0 = performance.now();
  const opened = await openSnapshot(snapshotDir, version);
  const t1 = performance.now();
  const parts = runNow(catalogParts(opened));
  const t2 = performance.now();
  const catalog = new Catalog(parts);
  const t3 = performance.now();
  catalog.names.warm();
  const t4 = performance.now();
  knowledgeFor(catalog).search().buildNow(); // indexes every document now, in one go
  const t5 = performance.now();
  const MiB = readdirSync(opened.dir).reduce((sum, f) => sum + statSync(join(opened.dir, f)).size, 0) / 2 ** 20;
  return { read: t1 - t0, decode: t2 - t1, indexes: t3 - t2, titles: t4 - t3, knowledge: t5 - t4, MiB };
}

async function main(): Promise<void> {
  const args = parseArgs();
  const runs = numArg(args, 'runs', 10);
  const { dir, cleanup } = await builtDataDir(args);
  try {
    const snapshotDir = join(dir, 'snapshots');
    const version = (await currentVersion(snapshotDir))!;
    const loadBefore = loadAverage();
    const floors: number[] = [];
    for (let i = 0; i < 5; i++) floors.push(await nodeFloor());
    const measure = async (entry: string, label: string) => {
      log(`cold start (${label}): warm-up run`);
      await coldRun(dir, entry);
      const out: ColdRun[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await coldRun(dir, entry);
        log(`cold start (${label}) ${i + 1}/${runs}: initialize ${ms(r.initMs)} ms, first tool ${ms(r.firstToolMs)} ms`);
        out.push(r);
      }
      return out;
    };
    const dist = distIsFresh();
    const results = await measure(SERVER_BIN, 'bin');
    // The bin runs dist/ only when it is newer than every source; measure the compiled build (what
    // `npm ci` leaves) directly when the bin fell back to tsx.
    const compiled = !dist && existsSync(DIST_MAIN) ? await measure(DIST_MAIN, 'dist') : null;
    const imports: Record<string, number>[] = [];
    for (let i = 0; i < 3; i++) imports.push(await importCosts(dist || compiled !== null));
    const parts: LoadParts[] = [];
    for (let i = 0; i < 5; i++) parts.push(await loadParts(snapshotDir, version));
    const loadAfter = loadAverage();

    const init = summarize(results.map((r) => r.initMs));
    const tool = summarize(results.map((r) => r.firstToolMs));
    const cInit = compiled ? summarize(compiled.map((r) => r.initMs)) : null;
    const cTool = compiled ? summarize(compiled.map((r) => r.firstToolMs)) : null;
    /** The figure the target is judged on: the compiled build when there is one. */
    const judged = cInit ?? init;
    const logged = (compiled ?? results).map((r) => r.loadLogMs).filter((v): v is number => v !== null);
    const p = (k: keyof LoadParts) => median(parts.map((x) => x[k]));
    const catalogLoad = p('read') + p('decode') + p('indexes');
    const rows = [
      ['read files, check their SHA-256 (`openSnapshot`)', p('read')], ['decode string columns, map typed arrays (`catalogParts`)', p('decode')],
      ['indexes: ids, members (`new Catalog` over the parts)', p('indexes')],
    ] as const;
    const firstRows = FIRST_CALLS.map(([name]) => `| \`${name}\` | ${ms(median((compiled ?? results).map((r) => r.firsts[name]!)))} |`);
    const importRows = Object.keys(imports[0]!).map((k) => [k, median(imports.map((x) => x[k]!))] as const);
    const importTotal = importRows.reduce((a, [, v]) => a + v, 0);
    const biggest = [...rows].sort((a, b) => b[1] - a[1]);

    emit(args, 'cold-start', `
## Cold start over stdio (\`bench/cold-start.ts\`)

\`\`\`sh
npx tsx bench/cold-start.ts --runs=${runs}     # --data-dir=DIR (a data dir with a published snapshot; default: build one)
\`\`\`

Spawn of \`node bin/music-mcp-server.js --stdio\` (${dist ? 'it ran the compiled `dist/`' : `it ran the TypeScript sources through tsx: \`dist/\` ${compiled ? 'was older than some sources' : 'missing'}`})${compiled ? ', and of the compiled build directly (`node dist/src/main.js --stdio`, what the bin runs after `npm ci` / `npm run build`)' : ''} by the SDK client (\`StdioClientTransport\`) on the
published snapshot (${version}, format 2, ${p('MiB').toFixed(1)} MiB on disk).
One warm-up run not counted, then ${runs} runs.

**Machine**: ${machineNotes()}; load average (1/5/15 min) ${loadBefore} before, ${loadAfter} after. ${today()}.

| | median | p90 | min | max | target |
|---|---:|---:|---:|---:|---|
| spawn → \`initialize\` answered${compiled ? ' (bin → tsx)' : ''} | ${ms(init.p50)} ms | ${ms(init.p90)} ms | ${ms(init.min)} ms | ${ms(init.max)} ms | ${compiled ? '' : `≤ 500 ms: ${met(init.p50 <= 500)}`} |
| spawn → first \`tools/call\` answered (catalog loaded)${compiled ? ' (bin → tsx)' : ''} | ${ms(tool.p50)} ms | ${ms(tool.p90)} ms | ${ms(tool.min)} ms | ${ms(tool.max)} ms | (reported) |${cInit && cTool ? `
| spawn → \`initialize\` answered (\`node dist/src/main.js --stdio\`, the compiled build) | ${ms(cInit.p50)} ms | ${ms(cInit.p90)} ms | ${ms(cInit.min)} ms | ${ms(cInit.max)} ms | ≤ 500 ms: ${met(cInit.p50 <= 500)} |
| spawn → first \`tools/call\` answered (compiled build) | ${ms(cTool.p50)} ms | ${ms(cTool.p90)} ms | ${ms(cTool.min)} ms | ${ms(cTool.max)} ms | (reported) |` : ''}
| catalog load as the server logs it (read, decode and indexes, in slices of the event loop) | ${ms(median(logged))} ms | | | | |
| floor: spawn → exit of \`node -e 0\` | ${ms(median(floors))} ms | | | | |

Module loading before the server can answer: the static imports of \`src/main.ts\` in a fresh \`node\`, loaded as
${dist || compiled ? 'the compiled `dist/`' : 'TypeScript sources through tsx'}; incremental cost in import order, median of 3:

| module | ms |
|---|---:|
${importRows.map(([k, v]) => `| \`${k}\` | ${ms(v)} |`).join('\n')}
| **total** | **${ms(importTotal)}** |

The server answers \`initialize\` before it loads the snapshot; a tool call that arrives first waits for
the catalog (up to \`MUSIC_TOOL_WAIT_MS\`). First call of each tool in a fresh process (after the one above):

| tool | first call |
|---|---:|
${firstRows.join('\n')}

Where the catalog load goes (same snapshot, in one process, each part run at once rather than in slices, median of 5):

| part | ms |
|---|---:|
${rows.map(([k, v]) => `| ${k} | ${ms(v)} |`).join('\n')}
| **catalog load** | **${ms(catalogLoad)}** |
| name resolution's artist and title indexes (built in slices right after the load, or by the first call that needs them) | ${ms(p('titles'))} |
| knowledge index (built on the first \`search_music_knowledge\` call, not at load) | ${ms(p('knowledge'))} |

Largest parts of the load: ${biggest.slice(0, 3).map(([k, v]) => `${k} (${ms(v)} ms)`).join(', ')}.
`, [
      {
        target: 'cold start: spawn → initialize answered (stdio), median ≤ 500 ms',
        figure: `${ms(judged.p50)} ms${compiled ? ` compiled build (${ms(init.p50)} ms via tsx)` : ''}; module loading ${ms(importTotal)} ms`,
        met: judged.p50 <= 500,
        load: loadAfter,
      },
      { target: 'cold start: spawn → first tool call answered (catalog loaded)', figure: `${ms((cTool ?? tool).p50)} ms (catalog load ${ms(catalogLoad)} ms)`, met: null, load: loadAfter },
    ]);
  } finally {
    cleanup();
  }
}

await main();
