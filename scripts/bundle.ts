// Build the MCP Bundle (.mcpb) that desktop clients such as Claude Desktop install with one click:
//   npm run bundle                              # the desktop platforms (DEFAULT_PLATFORMS)
//   npm run bundle -- --platforms current       # only this machine's (smaller, quicker)
//   npm run bundle -- --platforms darwin-arm64,win32-x64 --out /tmp/music.mcpb
// The bundle holds the compiled server (dist/), the dbt project and knowledge documents it reads at
// run time, and the production dependencies as npm installed them (no dev tools), plus the DuckDB
// native binding of every platform asked for. Its manifest.json lists the tools and prompts the
// staged server itself answers over stdio, so the listing cannot drift from the code.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packExtension } from '@anthropic-ai/mcpb';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { firstSentence } from '../src/server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description: string;
  author: string;
  license: string;
  engines: { node: string };
  dependencies: Record<string, string>;
};

/** The compiled entry the bundle runs (the package bin also picks it when dist/ is fresh). */
export const BUNDLE_ENTRY = 'dist/src/main.js';
/** Where `npm run bundle` writes, unless --out says otherwise. */
export const DEFAULT_BUNDLE_PATH = join(ROOT, 'build', `${pkg.name}-${pkg.version}.mcpb`);
/** Desktop platforms a bundle carries by default: where Claude Desktop runs, and Linux. */
export const DEFAULT_PLATFORMS = ['darwin-arm64', 'darwin-x64', 'win32-x64', 'linux-x64'] as const;
const DUCKDB_BINDINGS = '@duckdb/node-bindings';

export interface BundleResult {
  path: string;
  bytes: number;
  sha256: string;
  platforms: string[];
  manifest: Manifest;
}

export interface Manifest {
  manifest_version: string;
  name: string;
  display_name: string;
  version: string;
  description: string;
  long_description: string;
  author: { name: string };
  license: string;
  keywords: string[];
  server: { type: 'node'; entry_point: string; mcp_config: { command: string; args: string[]; env: Record<string, string> } };
  tools: { name: string; description: string }[];
  prompts: { name: string; description: string; arguments: string[]; text: string }[];
  compatibility: { platforms: string[]; runtimes: { node: string } };
  user_config: Record<string, { type: string; title: string; description: string; required: boolean; default: string; sensitive?: boolean }>;
}

/**
 * What a person can set in the client's install dialog, and the environment variable of src/config.ts
 * each one becomes. Every default is empty: the server reads an empty variable as unset and uses its own
 * default (an unset optional value would otherwise reach the server as the literal `${user_config.…}`).
 */
export const USER_CONFIG = {
  data_dir: {
    env: 'MUSIC_DATA_DIR',
    type: 'directory',
    title: 'Data folder',
    description:
      'Where the server keeps the downloaded dataset, its warehouse file and the catalog snapshots (about 180 MB). Leave empty for ~/.local/share/music-mcp-server.',
  },
  dataset: {
    env: 'MUSIC_DATASET',
    type: 'file',
    title: 'Tracks CSV (optional)',
    description:
      'A tracks CSV already on this computer (the Kaggle "Spotify Tracks Dataset" dataset.csv, or the TidyTuesday spotify_songs.csv). Leave empty to download the dataset on first start.',
  },
  spotify_client_id: {
    env: 'SPOTIFY_CLIENT_ID',
    type: 'string',
    title: 'Spotify client ID (optional)',
    description: "Your Spotify app's client ID: artist_metadata then refreshes stale artist data live. Set it together with the secret, or leave both empty.",
  },
  spotify_client_secret: {
    env: 'SPOTIFY_CLIENT_SECRET',
    type: 'string',
    title: 'Spotify client secret (optional)',
    description: "Your Spotify app's client secret (stored by the client as a secret, never logged by the server).",
    sensitive: true,
  },
} as const;

/** `os-arch` of this machine, in the DuckDB binding packages' naming. */
export function currentPlatform(): string {
  return `${process.platform}-${process.arch}`;
}

function parseArgs(argv: string[]): { platforms: string[]; out: string } {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (!v || v.startsWith('--')) throw new Error(`${flag} needs a value; see the top of scripts/bundle.ts`);
    return v;
  };
  const unknown = argv.filter((a, i) => a.startsWith('--') && !['--platforms', '--out'].includes(a) && !['--platforms', '--out'].includes(argv[i - 1] ?? ''));
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(' ')}; use --platforms os-arch,… and --out file.mcpb`);
  const list = value('--platforms');
  const platforms = list ? list.split(',').map((p) => (p.trim() === 'current' ? currentPlatform() : p.trim())).filter(Boolean) : [...DEFAULT_PLATFORMS];
  return { platforms: [...new Set(platforms)], out: resolve(value('--out') ?? DEFAULT_BUNDLE_PATH) };
}

type LockEntry = { version: string; integrity: string; dev?: boolean };
let lockPackages: Record<string, LockEntry> | undefined;
function lockfile(): Record<string, LockEntry> {
  lockPackages ??= (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  return lockPackages;
}

/** The lockfile's record of a package: exact version, tarball integrity, whether dev-only. */
function locked(name: string): LockEntry {
  const entry = lockfile()[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is not in package-lock.json; run npm install`);
  return entry;
}

/** Copy the production dependency tree npm installed (dev-only packages stay out). */
function copyProductionModules(stage: string): void {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  const top = out
    .split('\n')
    .map((p) => relative(ROOT, p.trim()))
    .filter((p) => p.startsWith('node_modules/') && p.split('node_modules/').length === 2);
  if (top.length === 0) throw new Error('npm ls listed no production dependencies; run npm ci first');
  for (const p of top) {
    if (locked(p.slice('node_modules/'.length)).dev) throw new Error(`${p} is a dev dependency; npm ls --omit=dev listed it`);
    cpSync(join(ROOT, p), join(stage, p), { recursive: true, dereference: true, filter: (src) => !src.includes('/.bin') });
  }
}

/** The DuckDB binding of each platform (the one npm installed, others fetched with npm pack and checked against the lockfile). */
function addDuckdbBindings(stage: string, platforms: string[]): void {
  const version = locked(DUCKDB_BINDINGS).version;
  for (const platform of platforms) {
    const name = `${DUCKDB_BINDINGS}-${platform}`;
    const dest = join(stage, 'node_modules', name);
    if (existsSync(join(dest, 'duckdb.node'))) continue;
    let entry;
    try {
      entry = locked(name);
    } catch {
      throw new Error(`no DuckDB binding for platform ${platform} (known: ${knownPlatforms().join(', ')})`);
    }
    if (entry.version !== version) throw new Error(`${name} is locked at ${entry.version}, ${DUCKDB_BINDINGS} at ${version}`);
    const installed = join(ROOT, 'node_modules', name);
    if (existsSync(join(installed, 'duckdb.node'))) {
      cpSync(installed, dest, { recursive: true });
      continue;
    }
    const tmp = mkdtempSync(join(tmpdir(), 'music-bundle-pack-'));
    try {
      const file = execFileSync('npm', ['pack', '--silent', `${name}@${entry.version}`], { cwd: tmp, encoding: 'utf8' }).trim().split('\n').pop()!;
      const tarball = join(tmp, file);
      const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
      if (integrity !== entry.integrity) throw new Error(`${name}@${entry.version} does not match package-lock.json's integrity; not bundling it`);
      mkdirSync(dest, { recursive: true });
      execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function knownPlatforms(): string[] {
  const prefix = `node_modules/${DUCKDB_BINDINGS}-`;
  return Object.keys(lockfile()).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

/** The files the server reads at run time: compiled code (no maps), dbt project, knowledge documents. */
function copyRuntimeFiles(stage: string): void {
  const skip = (src: string) => !/\.(map|tsbuildinfo)$/.test(src) && !/\/dbt\/(target|logs)(\/|$)/.test(src) && !src.endsWith('.build-stamp');
  for (const dir of ['dist/src', 'dist/tools', 'dist/resources', 'dbt', 'resources/knowledge']) {
    cpSync(join(ROOT, dir), join(stage, dir), { recursive: true, filter: skip });
  }
  const { scripts: _scripts, devDependencies: _dev, ...runtimePackage } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(runtimePackage, null, 2)}\n`);
  cpSync(join(ROOT, 'README.md'), join(stage, 'README.md'));
}

interface Listing {
  tools: { name: string; description?: string }[];
  prompts: { name: string; title?: string; description?: string; arguments?: { name: string; required?: boolean }[] }[];
}

/**
 * What a server started from `dir` answers to tools/list and prompts/list. It gets an empty data folder
 * and a dataset path that does not exist, so it lists without building anything (and without the network).
 */
export async function listServer(command: string, args: string[], env: Record<string, string>): Promise<Listing> {
  const client = new Client({ name: 'music-mcp-bundle', version: pkg.version });
  await client.connect(new StdioClientTransport({ command, args, env, stderr: 'ignore' }));
  try {
    const tools = (await client.listTools()).tools;
    const prompts = (await client.listPrompts()).prompts;
    return { tools, prompts };
  } finally {
    await client.close();
  }
}

/** The manifest entries for what the server lists: tools by name with their first sentence, prompts with their arguments. */
export function manifestListing(listing: Listing): Pick<Manifest, 'tools' | 'prompts'> {
  return {
    tools: listing.tools.map((t) => ({ name: t.name, description: firstSentence(t.description ?? t.name) })),
    prompts: listing.prompts.map((p) => {
      const args = (p.arguments ?? []).map((a) => a.name);
      // The text a client that only reads the manifest sends: the prompt's purpose and its arguments.
      // Clients that call prompts/get receive the server's full prompt with the catalog's profiles.
      const text = [`${p.description ?? p.title ?? p.name}`, ...args.map((a) => `${a}: \${arguments.${a}}`)].join('\n');
      return { name: p.name, description: p.description ?? p.title ?? p.name, arguments: args, text };
    }),
  };
}

function manifestFor(listing: Listing, platforms: string[]): Manifest {
  const oses = [...new Set(platforms.map((p) => p.split('-')[0]!))].sort();
  return {
    manifest_version: '0.3',
    name: pkg.name,
    display_name: 'Music catalog',
    version: pkg.version,
    description: pkg.description,
    long_description:
      'Music tools for the model: genre recommendations with audio-feature bounds, similar tracks, an artist\'s songs and profile, ' +
      'playlist sequencing and a searchable music glossary, answered from a catalog built on this computer from Spotify track data.\n\n' +
      'The first start downloads the dataset (20 MB) and builds the catalog (about 180 MB in the data folder); tool calls made ' +
      'meanwhile answer with the build\'s progress. No account is needed; Spotify credentials are optional.',
    author: { name: pkg.author },
    license: pkg.license,
    keywords: ['music', 'spotify', 'recommendations', 'playlists', 'genres'],
    server: {
      type: 'node',
      entry_point: BUNDLE_ENTRY,
      mcp_config: {
        command: 'node',
        args: [`\${__dirname}/${BUNDLE_ENTRY}`, '--stdio'],
        env: Object.fromEntries(Object.entries(USER_CONFIG).map(([key, c]) => [c.env, `\${user_config.${key}}`])),
      },
    },
    ...manifestListing(listing),
    compatibility: { platforms: oses, runtimes: { node: pkg.engines.node } },
    user_config: Object.fromEntries(
      Object.entries(USER_CONFIG).map(([key, { env: _env, ...c }]) => [key, { ...c, required: false, default: '' }]),
    ),
  };
}

/** Refuses a platform no DuckDB binding is published for, naming the ones there are. */
function checkPlatforms(platforms: string[]): void {
  const known = knownPlatforms();
  const unknown = platforms.filter((p) => !known.includes(p));
  if (unknown.length) throw new Error(`unknown platform ${unknown.join(', ')}; choose from ${known.join(', ')} or current`);
  if (platforms.length === 0) throw new Error(`--platforms names no platform; choose from ${known.join(', ')} or current`);
}

/** Builds the bundle: stage the runtime files, list the staged server, write the manifest, pack. */
export async function buildBundle(options: { platforms: string[]; out: string; log?: (line: string) => void }): Promise<BundleResult> {
  const log = options.log ?? (() => {});
  checkPlatforms(options.platforms);
  if (!existsSync(join(ROOT, BUNDLE_ENTRY))) throw new Error(`${BUNDLE_ENTRY} is missing; run npm run build first`);
  const stage = mkdtempSync(join(tmpdir(), 'music-bundle-'));
  const scratch = mkdtempSync(join(tmpdir(), 'music-bundle-list-'));
  try {
    log(`staging the server in ${stage}`);
    copyRuntimeFiles(stage);
    copyProductionModules(stage);
    addDuckdbBindings(stage, options.platforms);
    log('listing the staged server\'s tools and prompts');
    const listing = await listServer(process.execPath, [join(stage, BUNDLE_ENTRY), '--stdio'], {
      PATH: process.env.PATH ?? '',
      HOME: scratch,
      MUSIC_DATA_DIR: join(scratch, 'data'),
      MUSIC_DATASET: join(scratch, 'no-dataset.csv'),
      LOG_LEVEL: 'silent',
    });
    const manifest = manifestFor(listing, options.platforms);
    writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    mkdirSync(dirname(options.out), { recursive: true });
    log(`packing ${options.out}`);
    if (!(await packExtension({ extensionPath: stage, outputPath: options.out, silent: true }))) {
      throw new Error('mcpb refused the staged bundle (run `npx mcpb validate` on its manifest.json for the reason)');
    }
    const data = readFileSync(options.out);
    return { path: options.out, bytes: statSync(options.out).size, sha256: createHash('sha256').update(data).digest('hex'), platforms: options.platforms, manifest };
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A size for the build's last lines. */
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { platforms, out } = parseArgs(process.argv.slice(2));
    checkPlatforms(platforms);
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    const r = await buildBundle({ platforms, out, log: (l) => process.stderr.write(`bundle: ${l}\n`) });
    process.stderr.write(
      `bundle: ${r.path}\n  ${mb(r.bytes)}, sha256 ${r.sha256}\n  platforms ${r.platforms.join(', ')}; ` +
        `${r.manifest.tools.length} tools, ${r.manifest.prompts.length} prompts\n` +
        `  install: open the file with Claude Desktop (or drag it onto Settings → Extensions)\n`,
    );
  } catch (err) {
    process.stderr.write(`bundle: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

