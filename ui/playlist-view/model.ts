// What the view reads from a tool result, and the pure computations behind the cards and charts.

export interface Features {
  energy: number;
  valence: number;
  tempo: number;
  danceability: number;
  acousticness: number;
  [name: string]: number;
}

export interface Track {
  track_id: string;
  name: string | null;
  artists: string[];
  album: string | null;
  release_year: number | null;
  genres: string[];
  features: Features;
  reason?: string;
  credit?: string;
  camelot?: string | null;
}

export type ToolName = 'recommend_by_genre' | 'similar_tracks' | 'sequence_playlist' | 'tracks_by_artist';
export const ARCS = ['rising', 'falling', 'peak', 'wave', 'steady'] as const;
export type Arc = (typeof ARCS)[number];

export interface Playlist {
  tool: ToolName;
  args: Record<string, unknown>;
  tracks: Track[];
  /** The genre whose distribution the scatter shows (the asked genre, else the list's most common one). */
  genre: string | null;
  arc: Arc | null;
  title: string;
}

/** p10–p90 of a feature in the genre profile. */
export interface Band {
  p10: number;
  p90: number;
}
export type GenreBands = Partial<Record<'energy' | 'valence' | 'tempo', Band>>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Which of the four tools produced a structuredContent (for hosts that do not say). */
export function toolOf(sc: Record<string, unknown>): ToolName | null {
  if (!Array.isArray(sc.tracks)) return null;
  if ('drawn_from' in sc) return 'recommend_by_genre';
  if ('duplicates_dropped' in sc) return 'sequence_playlist';
  if (isObject(sc.artist) && 'total' in sc) return 'tracks_by_artist';
  if (Array.isArray(sc.seeds)) return 'similar_tracks';
  return null;
}

/** The genre most tracks of the list carry (first seen wins a tie). */
export function commonGenre(tracks: readonly Track[]): string | null {
  const counts = new Map<string, number>();
  for (const t of tracks) for (const g of t.genres) counts.set(g, (counts.get(g) ?? 0) + 1);
  let best: string | null = null;
  let most = 0;
  for (const [g, n] of counts) if (n > most) [best, most] = [g, n];
  return best;
}

/** The playlist a tool result shows, or an error message saying what is missing. */
export function playlistOf(tool: ToolName | null, args: Record<string, unknown>, sc: unknown): Playlist | string {
  if (!isObject(sc)) return 'the tool answered without structured content';
  const name = tool ?? toolOf(sc);
  if (!name) return 'this result holds no track list';
  const tracks = (Array.isArray(sc.tracks) ? sc.tracks : []).filter((t): t is Track => isObject(t) && typeof t.track_id === 'string' && isObject(t.features));
  const asked = isObject(sc.genre) && typeof sc.genre.name === 'string' ? sc.genre.name : null;
  const seq = isObject(sc.sequence) && typeof sc.sequence.arc === 'string' ? (sc.sequence.arc as Arc) : null;
  const arc = seq ?? (typeof args.arc === 'string' && (ARCS as readonly string[]).includes(args.arc) ? (args.arc as Arc) : null);
  return { tool: name, args, tracks, genre: asked ?? commonGenre(tracks), arc, title: titleOf(name, sc, asked, arc, tracks.length) };
}

function titleOf(tool: ToolName, sc: Record<string, unknown>, genre: string | null, arc: Arc | null, n: number): string {
  const order = arc ? `, ordered ${arc}` : '';
  if (tool === 'tracks_by_artist' && isObject(sc.artist)) return `${n} tracks by ${String(sc.artist.name)}`;
  if (tool === 'recommend_by_genre') return `${n} ${genre ?? 'catalog'} recommendations${order}`;
  if (tool === 'similar_tracks') {
    const seeds = Array.isArray(sc.seeds) ? sc.seeds.filter(isObject).map((s) => String(s.name)) : [];
    return `${n} tracks like ${seeds.join(', ') || 'the seeds'}${order}`;
  }
  return `${n} tracks${order}`;
}

/**
 * p10–p90 of energy, valence and tempo from a genre profile document (music://genres/{genre}): its
 * feature table has rows `| energy | 0.73 | 0.55–0.88 | …` (tempo in BPM).
 */
export function bandsFromProfile(markdown: string): GenreBands {
  const bands: GenreBands = {};
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*(energy|valence|tempo)\s*\|[^|]*\|\s*([-\d.e+]+)(?: BPM)?\s*–\s*([-\d.e+]+)(?: BPM)?\s*\|/.exec(line);
    if (!m) continue;
    const p10 = Number(m[2]);
    const p90 = Number(m[3]);
    if (Number.isFinite(p10) && Number.isFinite(p90)) bands[m[1] as 'energy' | 'valence' | 'tempo'] = { p10, p90 };
  }
  return bands;
}

/** A track sits outside its genre's middle 80% on energy or valence. */
export function isOutlier(t: Track, bands: GenreBands): boolean {
  const out = (v: number, b: Band | undefined) => b !== undefined && (v < b.p10 || v > b.p90);
  return out(t.features.energy, bands.energy) || out(t.features.valence, bands.valence);
}

/** One line per track: open.spotify.com links or spotify:track: URIs. */
export function spotifyLines(tracks: readonly Track[], form: 'links' | 'uris'): string {
  return tracks.map((t) => (form === 'links' ? `https://open.spotify.com/track/${t.track_id}` : `spotify:track:${t.track_id}`)).join('\n');
}

/** The list without any track crediting one of `artists` (names compared case-insensitively). */
export function withoutArtists(tracks: readonly Track[], artists: ReadonlySet<string>): Track[] {
  const lower = new Set([...artists].map((a) => a.toLowerCase()));
  return tracks.filter((t) => !t.artists.some((a) => lower.has(a.toLowerCase())));
}
