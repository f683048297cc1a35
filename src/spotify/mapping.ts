/**
 * Spotify payloads to the client's objects, and what those payloads teach about the app: which fields
 * and endpoints it gets, and whether it runs in development or extended quota mode.
 */
import type { AlbumPayload, ArtistPayload, TrackPayload } from './schemas.js';
import type {
  Availability,
  EndpointCapability,
  FieldCapability,
  SpotifyAlbum,
  SpotifyArtist,
  SpotifyCapabilities,
  SpotifyImage,
  SpotifyTrack,
} from './types.js';

/**
 * True when an artist object lacks every field Spotify denies development-mode apps (followers,
 * popularity, genres: absent, not null or empty). One absent field alone is not that evidence.
 */
export function deniedToDevelopmentApps(artist: ArtistPayload): boolean {
  return artist.followers === undefined && artist.popularity === undefined && artist.genres === undefined;
}

function toImage(image: { url: string; width?: number | null | undefined; height?: number | null | undefined }): SpotifyImage {
  return { url: image.url, width: image.width ?? null, height: image.height ?? null };
}

/** Which endpoints and fields this app gets, learned from the answers mapped so far. */
export class Capabilities {
  /** Artist objects seen without any / with some of the development-mode-denied fields. */
  private readonly artistEvidence = { denied: 0, granted: 0 };
  private readonly endpointState: Record<EndpointCapability, Availability> = {
    'GET /artists?ids': 'unknown',
    'GET /tracks?ids': 'unknown',
    'GET /artists/{id}/top-tracks': 'unknown',
  };
  private readonly fieldState: Record<FieldCapability, Availability> = {
    'artist.followers': 'unknown',
    'artist.popularity': 'unknown',
    'artist.genres': 'unknown',
    'track.popularity': 'unknown',
    'track.available_markets': 'unknown',
  };

  snapshot(pageSize: number): SpotifyCapabilities {
    const { denied, granted } = this.artistEvidence;
    const mode = granted > 0 ? 'extended' : denied > 0 ? 'development' : 'unknown';
    return { endpoints: { ...this.endpointState }, fields: { ...this.fieldState }, mode, pageSize };
  }

  endpoint(capability: EndpointCapability): Availability {
    return this.endpointState[capability];
  }

  markAvailable(capability: EndpointCapability): void {
    this.endpointState[capability] = 'available';
  }

  /** Marks an endpoint removed for this app; true the first time (so the caller logs it once). */
  markRemoved(capability: EndpointCapability): boolean {
    if (this.endpointState[capability] === 'unavailable') return false;
    this.endpointState[capability] = 'unavailable';
    return true;
  }

  private observe(field: FieldCapability, present: boolean): void {
    if (present) this.fieldState[field] = 'available';
    else if (this.fieldState[field] !== 'available') this.fieldState[field] = 'unavailable';
  }

  toArtist(artist: ArtistPayload): SpotifyArtist {
    const followers = typeof artist.followers?.total === 'number' ? artist.followers.total : null;
    const popularity = typeof artist.popularity === 'number' ? artist.popularity : null;
    const genres = Array.isArray(artist.genres) ? [...artist.genres] : null;
    this.observe('artist.followers', followers !== null);
    this.observe('artist.popularity', popularity !== null);
    this.observe('artist.genres', genres !== null);
    if (deniedToDevelopmentApps(artist)) this.artistEvidence.denied += 1;
    else this.artistEvidence.granted += 1;
    return {
      id: artist.id,
      name: artist.name,
      uri: artist.uri ?? null,
      url: artist.external_urls?.spotify ?? null,
      images: (artist.images ?? []).map(toImage),
      genres,
      followers,
      popularity,
      payload: artist,
    };
  }

  toTrack(track: TrackPayload): SpotifyTrack {
    const popularity = typeof track.popularity === 'number' ? track.popularity : null;
    const markets = Array.isArray(track.available_markets) ? [...track.available_markets] : null;
    this.observe('track.popularity', popularity !== null);
    this.observe('track.available_markets', markets !== null);
    return {
      id: track.id,
      name: track.name,
      artists: track.artists.map((x) => ({ id: x.id, name: x.name })),
      album: track.album ? { id: track.album.id, name: track.album.name, releaseDate: track.album.release_date ?? null } : null,
      durationMs: track.duration_ms,
      explicit: track.explicit ?? null,
      popularity,
      availableMarkets: markets,
      isrc: track.external_ids?.isrc ?? null,
      payload: track,
    };
  }
}

export function toAlbum(album: AlbumPayload): SpotifyAlbum {
  return {
    id: album.id,
    name: album.name,
    albumType: album.album_type,
    albumGroup: album.album_group ?? null,
    releaseDate: album.release_date,
    releaseDatePrecision: album.release_date_precision,
    totalTracks: album.total_tracks,
    artists: album.artists.map((x) => ({ id: x.id, name: x.name })),
    images: (album.images ?? []).map(toImage),
    payload: album,
  };
}
