export { SpotifyClient } from './client.js';
export { parseRetryAfter } from './auth.js';
export { deniedToDevelopmentApps } from './mapping.js';
export {
  SPOTIFY_DEFAULTS,
  type AlbumOptions,
  type Availability,
  type CallOptions,
  type EndpointCapability,
  type FieldCapability,
  type Page,
  type PageOptions,
  type SpotifyAlbum,
  type SpotifyApi,
  type SpotifyArtist,
  type SpotifyArtistRef,
  type SpotifyCapabilities,
  type SpotifyClientOptions,
  type SpotifyImage,
  type SpotifyTrack,
  type TopTracks,
} from './types.js';
export {
  SpotifyAbortedError,
  SpotifyAuthError,
  SpotifyCircuitOpenError,
  SpotifyError,
  SpotifyHttpError,
  SpotifyQuotaExceededError,
  SpotifyRateLimitedError,
  SpotifyResponseError,
  SpotifyUnavailableError,
} from './errors.js';
export { Throttle, type ThrottleOptions } from './throttle.js';
export { hasSpotifyCredentials, spotifyClientFromConfig, spotifyClientOptions } from './from-config.js';
