/**
 * zod shapes of the Web API answers we use, taken from ../shared/reference/spotify-openapi.yml
 * (ArtistObject, SimplifiedArtistObject, SimplifiedAlbumObject / ArtistDiscographyAlbumObject,
 * TrackObject, PagingObject, ErrorObject, the token answer). Only the fields we read are checked;
 * unknown fields pass through untouched (loose objects) so the staged payload is what Spotify sent.
 * Fields cut for development-mode apps in 2026 (artist followers/popularity/genres, track
 * popularity/available_markets) are optional: absent means "unavailable", never 0.
 */
import { z } from 'zod';

export const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'token_type must be Bearer'),
  expires_in: z.number().int().positive(),
});

/**
 * `{"error": {"status": 4xx, "message": "...", "reason"?: "..."}}` (reason: since July 2026 on quota
 * 429s). Status and message are not required: a body that carries only the reason still counts.
 */
export const ErrorBodySchema = z.object({
  error: z.looseObject({
    status: z.number().int().optional(),
    message: z.string().optional(),
    reason: z.string().optional(),
  }),
});

/**
 * Spotify's own words from an error answer, whatever its shape: the ErrorObject
 * `{"error": {"status": 404, "message": "..."}}` (message optional in older answers), the accounts
 * service's `{"error": "invalid_client", "error_description": "..."}`, a bare `{"message": "..."}`, or
 * a plain-text / HTML page from a gateway (tags dropped). Undelimited and unscrubbed: callers remove
 * secrets and quote it as data. Null when the body says nothing.
 */
export function spotifyErrorText(text: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const plain = text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
    return plain ? plain.slice(0, 300) : null;
  }
  if (typeof json !== 'object' || json === null) return typeof json === 'string' && json.trim() ? json.trim().slice(0, 300) : null;
  const body = json as Record<string, unknown>;
  const error = body.error;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>;
    const parts = [str(e.message), str(e.reason)].filter(Boolean);
    return parts.length ? parts.join(' — ').slice(0, 300) : null;
  }
  const code = str(error);
  const description = str(body.error_description);
  if (code) return (description ? `${code} (${description})` : code).slice(0, 300);
  return str(body.message)?.slice(0, 300) ?? null;
}

const ImageSchema = z.looseObject({
  url: z.string(),
  height: z.number().int().nullable().optional(),
  width: z.number().int().nullable().optional(),
});

const ExternalUrlsSchema = z.looseObject({ spotify: z.string().optional() });

const SimplifiedArtistSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  type: z.literal('artist').optional(),
  uri: z.string().optional(),
});

export const ArtistSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  type: z.literal('artist').optional(),
  uri: z.string().optional(),
  href: z.string().optional(),
  external_urls: ExternalUrlsSchema.optional(),
  images: z.array(ImageSchema).optional(),
  followers: z.looseObject({ total: z.number().int().nonnegative().nullable().optional() }).nullable().optional(),
  popularity: z.number().int().min(0).max(100).nullable().optional(),
  genres: z.array(z.string()).nullable().optional(),
});

export const SimplifiedAlbumSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  album_type: z.string(),
  album_group: z.string().optional(),
  total_tracks: z.number().int().nonnegative(),
  release_date: z.string(),
  release_date_precision: z.enum(['year', 'month', 'day']),
  images: z.array(ImageSchema).optional(),
  artists: z.array(SimplifiedArtistSchema),
  uri: z.string().optional(),
  external_urls: ExternalUrlsSchema.optional(),
});

export const TrackSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  type: z.literal('track').optional(),
  artists: z.array(SimplifiedArtistSchema),
  album: z
    .looseObject({
      id: z.string().min(1),
      name: z.string(),
      release_date: z.string().optional(),
    })
    .optional(),
  duration_ms: z.number().int().nonnegative(),
  explicit: z.boolean().optional(),
  popularity: z.number().int().min(0).max(100).nullable().optional(),
  available_markets: z.array(z.string()).nullable().optional(),
  external_ids: z.looseObject({ isrc: z.string().optional() }).nullable().optional(),
  uri: z.string().optional(),
});

/** PagingObject: items plus the paging fields we use (href/previous are not read). */
const pagingSchema = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    items: z.array(item),
    limit: z.number().int().nonnegative(),
    offset: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    next: z.string().nullable(),
  });

export const SearchArtistsSchema = z.looseObject({ artists: pagingSchema(ArtistSchema) });
export const SearchTracksSchema = z.looseObject({ tracks: pagingSchema(TrackSchema) });
/** `GET /artists?ids=`: unknown ids come back as null entries. */
export const ManyArtistsSchema = z.looseObject({ artists: z.array(ArtistSchema.nullable()) });
/** `GET /tracks?ids=` and `GET /artists/{id}/top-tracks`. */
export const ManyTracksSchema = z.looseObject({ tracks: z.array(TrackSchema.nullable()) });
/** Artist albums: items are checked one by one (a malformed album drops that album, not the page). */
export const ArtistAlbumsSchema = pagingSchema(z.unknown());

export type ArtistPayload = z.infer<typeof ArtistSchema>;
export type AlbumPayload = z.infer<typeof SimplifiedAlbumSchema>;
export type TrackPayload = z.infer<typeof TrackSchema>;

/** Readable, bounded issue list for error messages (paths and messages only, never values). */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`);
}
