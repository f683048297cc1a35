import type { GenreResolution } from './catalog.js';
import { echo, quote } from './delimit.js';
import type { GenreProfile } from './marts.js';
import { closest } from './text.js';

/** What a name was meant to be. */
export type NameKind = 'artist' | 'track' | 'genre';

export interface UnknownNameOptions {
  /** The argument's role, said before the kind: "seed" → "seed artist «…» is not in the catalog". */
  role?: string;
  /** A sentence on where valid names come from, appended as is (the server's own words). */
  hint?: string;
  /**
   * Catalog names near by another measure than spelling, said after the spelling suggestions under
   * `label` (the server's own words, e.g. "nearest by sound to jazz (an approximation …)").
   */
  approximate?: { label: string; names: readonly string[] };
  /**
   * What the catalog holds of this kind: "The catalog has 6 genres: «edm», … (and 24 subgenres); <link>
   * lists them all." `names` are listed when given (the caller decides when a list is short enough).
   */
  inventory?: { count: number; noun: string; names?: readonly string[]; extra?: string; link: string };
}

const SUGGESTION_LABEL: Record<NameKind, string> = { artist: 'nearest names', track: 'closest titles', genre: 'closest genres' };

/**
 * The message for a name the catalog does not hold, the same on every tool, prompt and resource:
 * `seed artist «Qeen» is not in the catalog; nearest names: «Queen». <hint>`. The caller's query is
 * echoed through echo() (escaped, capped) and the suggestions, which are catalog data, through quote().
 */
export function unknownName(kind: NameKind, query: string, suggestions: readonly string[], options: UnknownNameOptions = {}): string {
  const what = options.role ? `${options.role} ${kind}` : kind;
  const near = suggestions.map((s) => quote(s, '')).filter(Boolean);
  const tail = near.length ? `; ${SUGGESTION_LABEL[kind]}: ${near.join(', ')}.` : `; no ${kind} with a similar name.`;
  const sentences = [`${what} ${echo(query)} is not in the catalog${tail}`];
  const approx = options.approximate?.names.map((s) => quote(s, '')).filter(Boolean) ?? [];
  if (approx.length) sentences.push(`${capitalise(options.approximate!.label)}: ${approx.join(', ')}.`);
  const inv = options.inventory;
  if (inv) {
    const listed = inv.names?.length ? `: ${inv.names.map((s) => quote(s, '')).filter(Boolean).join(', ')}` : '';
    sentences.push(`The catalog has ${inv.count} ${inv.noun}${listed}${inv.extra ? ` (${inv.extra})` : ''}; ${inv.link} lists them all.`);
  }
  if (options.hint) sentences.push(options.hint);
  return sentences.join(' ');
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Genre lists at most this long are named in full in an unknown-genre message. */
export const LISTED_GENRES = 20;

/**
 * The message for a genre the catalog does not hold: the genres spelled alike, the genres nearest by
 * sound when the word names a known style (labelled as an approximation), and what the catalog has —
 * its top-level genres by name when there are at most LISTED_GENRES, else their count and the
 * music://genres link.
 */
export function unknownGenre(
  catalog: { genres: readonly GenreProfile[]; resolveGenre(query: string): GenreResolution },
  query: string,
  options: Omit<UnknownNameOptions, 'approximate' | 'inventory'> = {},
): string {
  const r = catalog.resolveGenre(query);
  const miss: { suggestions: readonly string[]; bySound?: { style: string; genres: string[] } } = r.ok ? { suggestions: [] } : r;
  const top = catalog.genres.filter((g) => g.genre_level !== 'subgenre').map((g) => g.genre);
  const subs = catalog.genres.length - top.length;
  return unknownName('genre', query, miss.suggestions, {
    ...options,
    ...(miss.bySound?.genres.length
      ? { approximate: { label: `nearest by sound to ${miss.bySound.style} (an approximation from mean audio features, not the same genre)`, names: miss.bySound.genres } }
      : {}),
    inventory: {
      count: top.length,
      noun: top.length === 1 ? 'genre' : 'genres',
      ...(top.length <= LISTED_GENRES ? { names: top } : {}),
      ...(subs ? { extra: `and ${subs} ${subs === 1 ? 'subgenre' : 'subgenres'}` } : {}),
      link: 'music://genres',
    },
  });
}

/**
 * The message for a name of this server's own (a tool, prompt or resource template) that it does not
 * have: `unknown prompt «x»; did you mean a? This server's prompts: a, b, c.`
 */
export function unknownEntry(kind: string, name: string, valid: readonly string[]): string {
  const near = closest(name.toLowerCase().slice(0, 200), valid, 2);
  return `unknown ${kind} ${echo(name)}${near.length ? `; did you mean ${near.join(' or ')}?` : '.'} This server's ${kind}s: ${valid.join(', ')}.`;
}
