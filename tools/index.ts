import type { McpServer } from '@modelcontextprotocol/server';
import { registerArtistMetadata } from './artist-metadata.js';
import { registerRecommendByGenre } from './recommend-by-genre.js';
import { registerSearchMusicKnowledge } from './search-music-knowledge.js';
import { registerSequencePlaylist } from './sequence-playlist.js';
import { registerSimilarTracks } from './similar-tracks.js';
import type { ToolDeps } from './shared.js';
import { registerTracksByArtist } from './tracks-by-artist.js';

export type { ToolDeps } from './shared.js';

/** Register every tool on a server. */
export function registerTools(server: McpServer, deps: ToolDeps): void {
  registerRecommendByGenre(server, deps);
  registerSimilarTracks(server, deps);
  registerTracksByArtist(server, deps);
  registerArtistMetadata(server, deps);
  registerSearchMusicKnowledge(server, deps);
  registerSequencePlaylist(server, deps);
}
