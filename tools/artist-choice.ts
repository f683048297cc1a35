import {
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  inputResponse,
  PROTOCOL_VERSION_META_KEY,
  type CallToolResult,
  type InputRequest,
  type InputRequiredResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { ArtistProfile } from '../src/catalog/marts.js';
import type { Catalog } from '../src/catalog/catalog.js';
import { echo, quote } from '../src/catalog/delimit.js';
import type { NameMatch } from '../src/catalog/resolve.js';
import { unknownName } from '../src/catalog/unknown-name.js';
import { ARTIST_HINT, toolError } from './shared.js';

/**
 * Artist name arguments that the catalog reads as several artists ("skillex": Skillet or Skrillex).
 *
 * A 2026-07-28 request whose client declares form elicitation is answered `input_required`: one form per
 * such argument asking to choose among the candidates (each with its genres and best-known track). The
 * client retries the same call with the answers in `inputResponses`; the name is resolved again and the
 * answer is taken only when it is one of the candidates found now. Nothing is kept between the rounds: the
 * retried request carries the arguments and the answers, which is all the choice needs.
 *
 * Any other request (a 2025-era client, a client without elicitation, a declined or cancelled form) gets
 * the tool error naming the candidates, so the caller can call again with one of them.
 */

/** One artist name argument: where it is in the arguments (`artist`, `seed_artists.1`) and what was typed. */
export interface ArtistArg {
  key: string;
  query: string;
  /** Said before "artist" in messages ("seed artist …"). */
  role?: string;
}

export interface FoundArtist {
  profiles: ArtistProfile[];
  members: Int32Array;
  match?: NameMatch | undefined;
}

export type ArtistResolution =
  | { kind: 'found'; found: FoundArtist[] }
  /** A name is unknown, or a choice was declined or does not fit: the tool answers this. */
  | { kind: 'error'; result: CallToolResult }
  /** Names to choose among: the tool answers this once its other arguments are found valid. */
  | { kind: 'ask'; result: InputRequiredResult };

/** How many candidates one form offers (the resolver's answer is capped the same way). */
const MAX_CHOICES = 5;

/** Whether this request may be answered `input_required` with a form: a 2026-era request whose client declares form elicitation. */
export function canAskForm(ctx: ServerContext | undefined): boolean {
  const envelope = ctx?.mcpReq.envelope as Record<string, unknown> | undefined;
  if (typeof envelope?.[PROTOCOL_VERSION_META_KEY] !== 'string') return false;
  const caps = envelope[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: Record<string, unknown> } | undefined;
  const elicitation = caps?.elicitation;
  if (!elicitation || typeof elicitation !== 'object') return false;
  // A bare `elicitation: {}` means form (its meaning before modes existed); naming only `url` does not.
  return elicitation.form !== undefined || elicitation.url === undefined;
}

/** "«Skrillex» (edm, electro house; best known for «Bangarang»)": what tells same-looking names apart. */
function describe(catalog: Catalog, name: string): string {
  const resolved = catalog.resolveArtist(name);
  const profile = resolved.ok ? resolved.value.profiles[0] : undefined;
  if (!profile) return quote(name);
  const genres = profile.genres.slice(0, 2).map((g) => g.genre);
  const top = profile.top_tracks[0]?.track_name;
  const parts = [genres.length ? genres.join(', ') : null, top ? `best known for ${quote(top)}` : null].filter(Boolean);
  return parts.length ? `${quote(name)} (${parts.join('; ')})` : quote(name);
}

/** The tool error for a name that fits several artists. */
export function ambiguousArtist(catalog: Catalog, arg: ArtistArg, candidates: readonly string[]): string {
  const what = arg.role ? `${arg.role} artist` : 'artist';
  const where = arg.key.replace(/\.\d+$/, '');
  return `${what} ${echo(arg.query)} fits several catalog artists: ${candidates.map((c) => describe(catalog, c)).join(', ')}. Call again with the one meant as ${where}.`;
}

/** The form asking which artist `arg` means. */
function askFor(catalog: Catalog, arg: ArtistArg, candidates: readonly string[]): InputRequest {
  const what = arg.role ? `${arg.role} artist` : 'artist';
  return inputRequired.elicit({
    mode: 'form',
    message: `The ${what} ${echo(arg.query)} fits several artists in the music catalog. Which one is meant?`,
    requestedSchema: {
      type: 'object',
      properties: {
        artist: {
          type: 'string',
          title: `${what[0]!.toUpperCase()}${what.slice(1)}`,
          description: `the catalog artist meant by ${echo(arg.query)}`,
          oneOf: candidates.map((c) => ({ const: c, title: describe(catalog, c) })),
        },
      },
      required: ['artist'],
    },
  });
}

/**
 * Resolve artist name arguments in order. Unknown names answer an error at once; names that fit several
 * artists take the answer to an earlier form when the request carries one, are asked of a client that can
 * answer a form, and otherwise answer the error naming the candidates.
 */
export function resolveArtists(catalog: Catalog, ctx: ServerContext | undefined, args: readonly ArtistArg[]): ArtistResolution {
  const found: FoundArtist[] = [];
  const asks: Record<string, InputRequest> = {};
  let firstAmbiguous: { arg: ArtistArg; candidates: string[] } | undefined;
  for (const arg of args) {
    const r = catalog.resolveArtist(arg.query);
    if (r.ok) {
      found.push({ ...r.value, match: r.match });
      continue;
    }
    if (!r.ambiguous) {
      return { kind: 'error', result: toolError(unknownName('artist', arg.query, r.suggestions, { ...(arg.role ? { role: arg.role } : {}), hint: ARTIST_HINT })) };
    }
    const candidates = r.suggestions.slice(0, MAX_CHOICES);
    const answer = inputResponse(ctx?.mcpReq.inputResponses, arg.key);
    if (answer.kind === 'elicit') {
      if (answer.action !== 'accept') return { kind: 'error', result: toolError(ambiguousArtist(catalog, arg, candidates)) };
      const chosen = answer.content?.artist;
      if (typeof chosen !== 'string' || !candidates.includes(chosen)) {
        const shown = typeof chosen === 'string' ? echo(chosen) : 'no artist';
        return {
          kind: 'error',
          result: toolError(`the answer ${shown} for ${echo(arg.query)} is not one of the artists offered; ${ambiguousArtist(catalog, arg, candidates)}`),
        };
      }
      const picked = catalog.resolveArtist(chosen);
      if (!picked.ok) return { kind: 'error', result: toolError(ambiguousArtist(catalog, arg, candidates)) };
      found.push({ ...picked.value, match: { query: arg.query, matched: chosen, how: 'chosen' } });
      continue;
    }
    firstAmbiguous ??= { arg, candidates };
    asks[arg.key] = askFor(catalog, arg, candidates);
  }
  if (!firstAmbiguous) return { kind: 'found', found };
  if (!canAskForm(ctx)) return { kind: 'error', result: toolError(ambiguousArtist(catalog, firstAmbiguous.arg, firstAmbiguous.candidates)) };
  return { kind: 'ask', result: inputRequired({ inputRequests: asks }) };
}
