import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzipSync } from 'node:zlib';
import { SnapshotError } from '../errors.js';

/**
 * The serving snapshot: the published marts in one file, loaded whole into memory by the server.
 * Layout on disk:
 *   <snapshotDir>/<version>/catalog.json.gz   immutable once written
 *   <snapshotDir>/CURRENT                     the version being served (replaced by rename: atomic)
 */
export const SNAPSHOT_FORMAT = 1;

/** Audio features carried per track, in this order. */
export const TRACK_FEATURES = [
  'danceability', 'energy', 'loudness', 'speechiness', 'acousticness', 'instrumentalness',
  'liveness', 'valence', 'tempo',
] as const;
export type TrackFeature = (typeof TRACK_FEATURES)[number];

/** Column-oriented dim_tracks (+ bridge_track_artists as artist_keys). One array per column, same length. */
export interface TrackColumns {
  track_id: string[];
  track_name: (string | null)[];
  album_id: (string | null)[];
  album_name: (string | null)[];
  release_year: (number | null)[];
  artist_names: string[][];
  artist_keys: string[][];
  popularity: number[];
  duration_ms: number[];
  explicit: (boolean | null)[];
  key: number[];
  mode: number[];
  time_signature: (number | null)[];
  genres: string[][];
  subgenres: string[][];
  canonical_track_id: string[];
  features: Record<TrackFeature, number[]>;
}

export interface NamedCount { genre: string; track_count: number }

export interface ArtistProfile {
  artist_key: string;
  artist_name: string;
  track_count: number;
  genres: NamedCount[];
  subgenres: NamedCount[];
  popularity_mean: number | null;
  popularity_max: number | null;
  popularity_min: number | null;
  explicit_share: number | null;
  feature_means: Record<string, number | null>;
  top_tracks: { track_id: string; track_name: string | null; popularity: number }[];
  albums: { album_name: string | null; album_id: string | null; release_year: number | null; track_count: number }[];
  first_release_year: number | null;
  last_release_year: number | null;
  /**
   * Spotify enrichment (dim_artists `spotify_*`). null: the artist was not enriched (no credentials,
   * not found, ambiguous), or Spotify does not return the field to this app (development mode:
   * followers, popularity, genres), never 0. Absent in snapshots published before enrichment existed.
   */
  spotify_id?: string | null;
  spotify_followers?: number | null;
  spotify_popularity?: number | null;
  spotify_genres?: string[] | null;
  spotify_image_url?: string | null;
  spotify_url?: string | null;
  /** ISO UTC: when the Spotify API last returned these values. */
  spotify_fetched_at?: string | null;
}

export interface FeatureStats { mean: number | null; stddev: number | null; p10: number | null; p25: number | null; p50: number | null; p75: number | null; p90: number | null }

export interface GenreProfile {
  genre: string;
  genre_level: 'genre' | 'subgenre';
  parent_genre: string | null;
  track_count: number;
  artist_count: number;
  popularity_mean: number | null;
  explicit_share: number | null;
  features: Record<string, FeatureStats>;
  top_artists: string[];
}

export interface PipelineRunSummary {
  runId: string;
  startedAt: string;
  steps: string[];
  rowsRead: number | null;
  rowsStaged: number | null;
  rowsRejected: number | null;
  /** Rows of the source file staged by earlier runs that this run's ingest deleted; absent in older snapshots. */
  rowsDeleted?: number | null;
  modelsBuilt: number | null;
  testsPassed: number | null;
  testsFailed: number | null;
}

export interface SnapshotManifest {
  format: number;
  version: string;
  publishedAt: string;
  /** Where the data came from, and the last ingest's reconciliation. */
  source: {
    dataset: string | null; schema: string | null; rowsRead: number | null; rowsStaged: number | null; rowsRejected: number | null;
    /** The recorded pipeline run (ops.pipeline_runs) whose transform built these marts; absent in older snapshots. */
    run?: PipelineRunSummary | null;
  };
  counts: { tracks: number; artists: number; genres: number };
}

export interface Snapshot {
  manifest: SnapshotManifest;
  tracks: TrackColumns;
  artists: ArtistProfile[];
  genres: GenreProfile[];
}

const CURRENT = 'CURRENT';
const FILE = 'catalog.json.gz';
const gunzip = promisify(gunzipCb);

/**
 * Write a snapshot and make it current. Readers never see a half-written snapshot. Returns the version.
 * `beside` writes further files into the version directory before it becomes visible (the search index).
 */
export async function writeSnapshot(
  snapshotDir: string,
  data: Omit<Snapshot, 'manifest'> & { manifest: Omit<SnapshotManifest, 'version' | 'format'> },
  keep = 3,
  beside?: (dir: string, manifest: SnapshotManifest) => Promise<void>,
): Promise<string> {
  const body = JSON.stringify({ ...data, manifest: { ...data.manifest, format: SNAPSHOT_FORMAT, version: '' } });
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
  const stamp = data.manifest.publishedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const version = `${stamp}-${hash}`;
  const manifest: SnapshotManifest = { ...data.manifest, format: SNAPSHOT_FORMAT, version };
  const final = JSON.stringify({ ...data, manifest });

  const tmpDir = join(snapshotDir, `.tmp-${version}-${randomBytes(4).toString('hex')}`);
  const tmpPointer = join(snapshotDir, `.${CURRENT}-${randomBytes(4).toString('hex')}`);
  const versionDir = join(snapshotDir, version);
  let target = snapshotDir;
  let placed = false;
  try {
    await mkdir(snapshotDir, { recursive: true });
    target = tmpDir;
    await mkdir(tmpDir, { recursive: true });
    target = join(tmpDir, FILE);
    await writeFile(target, gzipSync(final, { level: 6 }));
    target = tmpDir;
    if (beside) await beside(tmpDir, manifest);
    target = versionDir;
    await rm(versionDir, { recursive: true, force: true });
    await rename(tmpDir, versionDir);
    placed = true;
    target = tmpPointer;
    await writeFile(tmpPointer, `${version}\n`);
    target = join(snapshotDir, CURRENT);
    await rename(tmpPointer, target);
  } catch (err) {
    // Leave the snapshot dir as it was: no temp leftovers, CURRENT still names the previous version.
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    await rm(tmpPointer, { force: true }).catch(() => undefined);
    if (placed && (await currentVersion(snapshotDir).catch(() => null)) !== version) {
      await rm(versionDir, { recursive: true, force: true }).catch(() => undefined);
    }
    const still = await currentVersion(snapshotDir).catch(() => null);
    throw new SnapshotError(
      `cannot write snapshot ${version} to ${target}: ${(err as Error).message}; ${still ? `snapshot ${still} is still current` : 'nothing is published yet'}`,
      { cause: err },
    );
  }
  await prune(snapshotDir, version, keep);
  return version;
}

/** Remove old versions beyond `keep` (never the current one) and leftovers of interrupted writes. */
async function prune(snapshotDir: string, current: string, keep: number): Promise<void> {
  const entries = await readdir(snapshotDir, { withFileTypes: true });
  const versions = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort().reverse();
  const stale = versions.filter((v) => v !== current).slice(Math.max(0, keep - 1));
  for (const v of stale) await rm(join(snapshotDir, v), { recursive: true, force: true });
  const now = Date.now();
  for (const e of entries) {
    if (!e.name.startsWith('.')) continue;
    const st = await stat(join(snapshotDir, e.name)).catch(() => null);
    if (st && now - st.mtimeMs > 3_600_000) await rm(join(snapshotDir, e.name), { recursive: true, force: true });
  }
}

/** The version CURRENT points at, or null when nothing was ever published. */
export async function currentVersion(snapshotDir: string): Promise<string | null> {
  try {
    const v = (await readFile(join(snapshotDir, CURRENT), 'utf8')).trim();
    return v || null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SnapshotError(`cannot read ${join(snapshotDir, CURRENT)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Read one snapshot version (default: the current one). */
export async function readSnapshot(snapshotDir: string, version?: string): Promise<Snapshot> {
  const v = version ?? (await currentVersion(snapshotDir));
  if (!v) throw new SnapshotError(`no published snapshot in ${snapshotDir}; run \`npm run pipeline\` to build one`);
  const file = join(snapshotDir, v, FILE);
  let snap: Snapshot;
  try {
    snap = JSON.parse((await gunzip(await readFile(file))).toString('utf8')) as Snapshot;
  } catch (err) {
    throw new SnapshotError(`snapshot ${v} is unreadable (${(err as Error).message}); republish with \`npm run pipeline\``, { cause: err });
  }
  if (snap.manifest?.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`snapshot ${v} has format ${String(snap.manifest?.format)}, this server reads format ${SNAPSHOT_FORMAT}; republish with \`npm run pipeline\``);
  }
  if (snap.manifest.version !== v) {
    throw new SnapshotError(
      `snapshot directory ${v} holds a manifest for version ${JSON.stringify(snap.manifest.version)} (copied or renamed by hand?); republish with \`npm run pipeline\``,
    );
  }
  return snap;
}

/**
 * What tells one published snapshot from another without reading it: the version name plus the inode,
 * size and mtime of its directory and file. A snapshot rewritten in place gets a new identity.
 */
export async function snapshotIdentity(snapshotDir: string, version: string): Promise<string> {
  const dir = join(snapshotDir, version);
  const [d, f] = await Promise.all([stat(dir).catch(() => null), stat(join(dir, FILE)).catch(() => null)]);
  const part = (s: Awaited<ReturnType<typeof stat>> | null) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing');
  return `${version}@${part(d)}/${part(f)}`;
}
