export {
  SpotifyClient,
  SPOTIFY_DEFAULTS,
  parseRetryAfter,
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
} from './client.js';
export {
  SpotifyAbortedError,
  SpotifyAuthError,
  SpotifyError,
  SpotifyHttpError,
  SpotifyQuotaExceededError,
  SpotifyRateLimitedError,
  SpotifyResponseError,
  SpotifyUnavailableError,
} from './errors.js';
export { Throttle, type ThrottleOptions } from './throttle.js';
export { hasSpotifyCredentials, spotifyClientFromConfig, spotifyClientOptions } from './from-config.js';
