import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Catalog } from '../src/catalog/catalog.js';
import { echo } from '../src/catalog/delimit.js';
import { unknownGenre as unknownGenreMessage, unknownName } from '../src/catalog/unknown-name.js';
import { closest } from '../src/catalog/text.js';
import { ARTIST_HINT, type ToolDeps } from '../tools/shared.js';

/** The URIs this server answers. Names in a URI are percent-encoded (RFC 6570 simple expansion). */
export const URIS = {
  genres: 'music://genres',
  dataset: 'music://dataset',
  glossary: 'music://glossary/audio-features',
  genreTemplate: 'music://genres/{genre}',
  artistTemplate: 'music://artists/{artist}',
  trackTemplate: 'music://tracks/{track_id}',
} as const;

export const genreUri = (name: string): string => `music://genres/${encodeURIComponent(name)}`;
export const artistUri = (name: string): string => `music://artists/${encodeURIComponent(name)}`;
export const trackUri = (id: string): string => `music://tracks/${encodeURIComponent(id)}`;

export const MARKDOWN = 'text/markdown';
export const JSON_MIME = 'application/json';

const FORMS = [URIS.genres, URIS.genreTemplate, URIS.artistTemplate, URIS.trackTemplate, URIS.dataset, URIS.glossary];

export function invalid(message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, message);
}

/** A template variable as the name it encodes. */
export function decodeVariable(uri: string, value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid(`${echo(uri)} is not a valid URI: bad percent-encoding in ${echo(raw)}`);
  }
}

/** The error for a URI no registration matches, with the nearest URI form this server serves. */
/** resources/read of a URI this server does not serve: -32602 with the URI as `data.uri` (as SEP-2164 asks), and a message naming what exists. */
export function unknownUri(uri: string): ProtocolError {
  const e = unknownUriMessage(uri);
  return new ProtocolError(e.code, e.message, { uri });
}

function unknownUriMessage(uri: string): ProtocolError {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?/i.exec(uri);
  const forms = `This server serves ${FORMS.join(', ')}.`;
  if (!m || m[1]!.toLowerCase() !== 'music') return invalid(`unknown resource ${echo(uri)}. ${forms}`);
  const head = m[2]!.toLowerCase();
  const rest = (m[3] ?? '').replace(/^\/+|\/+$/g, '');
  const heads = ['genres', 'artists', 'tracks', 'dataset', 'glossary'];
  const near = heads.includes(head) ? head : closest(head, heads, 1)[0];
  let hint = '';
  if (near === 'glossary') hint = `; did you mean ${URIS.glossary}?`;
  else if (near === 'dataset') hint = `; did you mean ${URIS.dataset}?`;
  else if (near && rest) hint = `; did you mean music://${near}/${rest}?`;
  else if (near === 'genres') hint = `; did you mean ${URIS.genres}?`;
  else if (near) hint = `; ${near} need a name: ${FORMS.find((f) => f.startsWith(`music://${near}/`))}`;
  return invalid(`unknown resource ${echo(uri)}${hint}. ${forms}`);
}

export function unknownGenre(catalog: Catalog, name: string): ProtocolError {
  return invalid(unknownGenreMessage(catalog, name));
}

export function unknownArtist(catalog: Catalog, name: string): ProtocolError {
  const r = catalog.resolveArtist(name);
  return invalid(unknownName('artist', name, r.ok ? [] : r.suggestions, { hint: ARTIST_HINT }));
}

/** The catalog being served, or an error the client can act on while it is still being built. */
export async function catalogOrThrow(deps: ToolDeps): Promise<Catalog> {
  const state = await deps.catalog.waitReady(deps.toolWaitMs);
  if (state.status === 'ready') return state.catalog;
  if (state.status === 'failed') throw new ProtocolError(ProtocolErrorCode.InternalError, `the music catalog could not be built: ${state.error}`);
  throw new ProtocolError(ProtocolErrorCode.InternalError, `the music catalog is still being built (${state.detail}); try again in a minute.`);
}

/** The catalog if one is being served right now (completions never wait). */
export function catalogNow(deps: ToolDeps): Catalog | null {
  const state = deps.catalog.current;
  return state.status === 'ready' ? state.catalog : null;
}
