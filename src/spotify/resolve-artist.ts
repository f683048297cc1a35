/**
 * Which Spotify artist a dataset artist is: a search by name, and where several artists share the name
 * (two "Nirvana"s) or none matches it exactly, the artist credited on the dataset artist's known tracks.
 * Used by the enrichment (src/pipeline/enrich.ts) and by the live refresh of artist_metadata
 * (src/spotify/live-artist.ts).
 */
import { fold } from '../catalog/text.js';
import type { SpotifyApi, SpotifyArtist } from './index.js';
import type { ArtistResolution } from './staging.js';

/** Search by name; tell same-name candidates apart by who is credited on the artist's known tracks. */
export async function resolveArtist(
  spotify: SpotifyApi,
  artist: { artist_key: string; artist_name: string; track_ids: readonly string[] },
  sampleSize: number,
  call: { signal?: AbortSignal },
): Promise<Omit<ArtistResolution, 'resolvedAt'>> {
  const base = { artistKey: artist.artist_key, artistName: artist.artist_name };
  const wanted = fold(artist.artist_name);
  const page = await spotify.searchArtists(artist.artist_name, { limit: 10, ...call });
  const sameName = page.items.filter((a) => fold(a.name) === wanted);
  if (sameName.length === 1) {
    return { ...base, spotifyId: sameName[0]!.id, confidence: 0.8, method: 'search-unique-name' };
  }

  // Several same-name artists, or none by that exact name: ask the artist's known tracks.
  const sample = artist.track_ids.slice(0, sampleSize);
  const tracks = sample.length ? (await spotify.getTracks(sample, call)).filter((t) => t !== null) : [];
  const credited = new Map<string, { name: string; count: number }>();
  for (const t of tracks) {
    for (const a of new Set(t.artists.map((x) => x.id))) {
      const name = t.artists.find((x) => x.id === a)!.name;
      const c = credited.get(a) ?? { name, count: 0 };
      c.count += 1;
      credited.set(a, c);
    }
  }
  const candidates: Pick<SpotifyArtist, 'id' | 'name'>[] = sameName.length ? sameName : page.items;
  const scored = candidates
    .map((c) => ({ id: c.id, count: credited.get(c.id)?.count ?? 0 }))
    .filter((c) => c.count > 0)
    .sort((a, b) => b.count - a.count);
  const found = Math.max(1, tracks.length);
  if (scored.length && (scored.length === 1 || scored[0]!.count > scored[1]!.count)) {
    const best = scored[0]!;
    return { ...base, spotifyId: best.id, confidence: round(0.5 + (0.5 * best.count) / found), method: 'search-track-overlap' };
  }
  if (scored.length === 0) {
    // Not among the search results: a credited artist spelled like the dataset's name.
    const byCredit = [...credited.entries()].filter(([, c]) => fold(c.name) === wanted).sort((a, b) => b[1].count - a[1].count);
    if (byCredit.length === 1 || (byCredit.length > 1 && byCredit[0]![1].count > byCredit[1]![1].count)) {
      const [id, c] = byCredit[0]!;
      return { ...base, spotifyId: id, confidence: round(0.4 + (0.4 * c.count) / found), method: 'track-credit' };
    }
  }
  if (sameName.length > 1) return { ...base, spotifyId: null, confidence: 0, method: 'ambiguous' };
  return { ...base, spotifyId: null, confidence: 0, method: 'not-found' };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
