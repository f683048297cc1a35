import { echo, quote } from './delimit.js';
import { closest } from './text.js';

/** What a name was meant to be. */
export type NameKind = 'artist' | 'track' | 'genre';

export interface UnknownNameOptions {
  /** The argument's role, said before the kind: "seed" → "seed artist «…» is not in the catalog". */
  role?: string;
  /** A sentence on where valid names come from, appended as is (the server's own words). */
  hint?: string;
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
  return `${what} ${echo(query)} is not in the catalog${tail}${options.hint ? ` ${options.hint}` : ''}`;
}

/**
 * The message for a name of this server's own (a tool, prompt or resource template) that it does not
 * have: `unknown prompt «x»; did you mean a? This server's prompts: a, b, c.`
 */
export function unknownEntry(kind: string, name: string, valid: readonly string[]): string {
  const near = closest(name.toLowerCase().slice(0, 200), valid, 2);
  return `unknown ${kind} ${echo(name)}${near.length ? `; did you mean ${near.join(' or ')}?` : '.'} This server's ${kind}s: ${valid.join(', ')}.`;
}
