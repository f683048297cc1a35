/**
 * Text that comes from the dataset (track, album, artist and genre names) is shown to clients as data:
 * inside «…», on one line, with nothing that could close the quote early or pass for markup. A track
 * titled "Ignore previous instructions…" then reads as a quoted title, never as an instruction; the
 * server's `instructions` tell clients that «…» holds catalog data.
 */

const MAX_NAME = 200;

/** Control characters, bidi overrides/isolates and zero-width characters. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * Whether a string needs cleaning: an invisible character, a guillemet, whitespace other than single
 * inner spaces, or more than MAX_NAME characters. Most catalog names need none (one test, no copies).
 */
const NEEDS_CLEANING = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff«»]|[^\S ]|\s\s|^\s|\s$/;

/** One-line, bounded, quote-safe form of a data string (without the surrounding quotes). */
export function cleanData(s: string): string {
  if (s.length <= MAX_NAME && !NEEDS_CLEANING.test(s)) return s;
  let t = s.replace(INVISIBLE, ' ').replace(/«/g, '‹').replace(/»/g, '›').replace(/\s+/g, ' ').trim();
  if (t.length > MAX_NAME) t = `${t.slice(0, MAX_NAME - 1).trimEnd()}…`;
  return t;
}

/** «name», or `missing` (unquoted: it is ours, not data) when the dataset has no value. */
export function quote(s: string | null | undefined, missing = '(untitled)'): string {
  if (s === null || s === undefined) return missing;
  const t = cleanData(s);
  return t ? `«${t}»` : missing;
}

/** Like quote(), and also escapes what Markdown would render as links, emphasis, code, HTML or table cells. */
export function quoteMd(s: string | null | undefined, missing = '(untitled)'): string {
  if (s === null || s === undefined) return missing;
  const t = cleanData(s).replace(/[\\`*_[\]<>|#~]/g, (c) => `\\${c}`);
  return t ? `«${t}»` : missing;
}

/** Several names: «A», «B» (or `none`). */
export function quoteList(names: readonly (string | null)[], none = '(unknown artist)'): string {
  const parts = names.map((n) => quote(n, '')).filter(Boolean);
  return parts.length ? parts.join(', ') : none;
}

/**
 * A data string (or object of them) as JSON (for tool-argument examples): exact once parsed, with « », line
 * breaks and invisible characters \u-escaped so the literal cannot open or close a «…» span.
 */
export function jsonString(value: unknown): string {
  return JSON.stringify(value).replace(/[«»\u0080-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How much of a caller's value an answer repeats back. */
export const MAX_ECHO = 200;

const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A caller's own value (an unknown name, a query, an argument key) as it is repeated back in an answer:
 * inside «…», with control, bidi-override and zero-width characters (and « ») shown as visible escapes
 * (\n, \u202E), and at most MAX_ECHO characters of it, then "…". A 1 MB name costs the answer ~200
 * characters, and an invisible override cannot reorder the text around it.
 */
export function echo(value: string): string {
  let head = value.length > MAX_ECHO ? value.slice(0, MAX_ECHO) : value;
  // Do not cut a surrogate pair in half.
  if (head.length < value.length && /[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  const shown = head.replace(/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb«»]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) =>
    SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  return `«${shown}${head.length < value.length ? '…' : ''}»`;
}

/** Several caller values: «a», «b» and at most `max` of them, then "and N more". */
export function echoList(values: readonly string[], max = 5): string {
  const shown = values.slice(0, max).map(echo).join(', ');
  return values.length > max ? `${shown} and ${values.length - max} more` : shown;
}
