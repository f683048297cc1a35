// The MCP App view of a playlist (the ext-apps extension, `text/html;profile=mcp-app`): one `ui://`
// resource that hosts with UI render for recommend_by_genre, similar_tracks, sequence_playlist and
// tracks_by_artist. Hosts without UI never read it and get the same text and structuredContent as before.
// The HTML is built from ui/playlist-view/ by scripts/build.mjs (run at `npm ci`) into dist/ui/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '@modelcontextprotocol/ext-apps/server';
import { ProtocolError, ProtocolErrorCode, type ReadResourceResult, type Resource } from '@modelcontextprotocol/server';
import { PROJECT_ROOT } from '../paths.js';

export const PLAYLIST_VIEW_URI = 'ui://music/playlist-view.html';
/** Where the build writes the view (one self-contained HTML file). */
export const PLAYLIST_VIEW_FILE = join(PROJECT_ROOT, 'dist', 'ui', 'playlist-view.html');
/** The only origins the view loads from: Spotify's image CDN (album and artist art). No other network. */
export const ART_ORIGINS = ['https://i.scdn.co'];

/** `_meta` of a tool whose result the view renders (the nested form, plus the flat key older hosts read). */
export const playlistViewMeta = { ui: { resourceUri: PLAYLIST_VIEW_URI }, [RESOURCE_URI_META_KEY]: PLAYLIST_VIEW_URI };

const uiMeta = { ui: { csp: { resourceDomains: ART_ORIGINS, connectDomains: [] as string[] }, prefersBorder: true } };

/** The resources/list entry. */
export const playlistViewResource: Resource = {
  uri: PLAYLIST_VIEW_URI,
  name: 'playlist-view',
  title: 'Playlist view',
  description:
    'Interactive view of a track list (MCP Apps): cards, the energy arc along the play order, energy × valence against the genre, ' +
    'and actions that call this server\'s tools (more like this, exclude an artist, re-sequence, copy as Spotify links).',
  mimeType: RESOURCE_MIME_TYPE,
  _meta: uiMeta,
};

let html: string | undefined;

/** resources/read of the view: the built HTML with its CSP metadata. */
export function readPlaylistView(): ReadResourceResult {
  if (html === undefined) {
    try {
      html = readFileSync(PLAYLIST_VIEW_FILE, 'utf8');
    } catch {
      throw new ProtocolError(ProtocolErrorCode.InternalError, `the playlist view is not built (${PLAYLIST_VIEW_FILE} is missing); run \`npm run build\` in the server's folder.`);
    }
  }
  return { contents: [{ uri: PLAYLIST_VIEW_URI, mimeType: RESOURCE_MIME_TYPE, text: html, _meta: uiMeta }] };
}
