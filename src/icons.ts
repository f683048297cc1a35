import type { Icon } from '@modelcontextprotocol/server';

/**
 * The server's icon: a white note on a green disc, 48×48, as a PNG data URI (PNG is the format the MCP
 * spec says every client supports; a data URI needs no fetch, so it shows over stdio too) and as SVG for
 * clients that scale it. Given to the server, its tools, prompts and resource templates.
 */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAYAAABXAvmHAAAAyElEQVR42u3ayQ2AMAwEwFRCVTRLdfBEIB45dn0stsQ7O4goh2mt6q7t2M+eJ2XocJjV4G4QdHAzCDs4FWIdHorwCg9BeIdfQkQJP4WIFn4YgRhspKAA1NtiALoQqQHI7xUZuhvBAphMZvQgTMAnogCeAMYAbMADUYACFKAABXAHvIOmADC2yyar8WiF2wulBsyU2QE/C2DpRBYawECY3w2lB6AmdLqbOeaCJXE/+r/rdYkGh0SLSaLJJ9FmlWl0y/xqIPOzh3ddIoVg0t6g+MIAAAAASUVORK5CYII=';

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><circle cx="24" cy="24" r="23" fill="#1eb954"/>' +
  '<ellipse cx="18" cy="32" rx="6.5" ry="5" fill="#fff"/><rect x="22" y="11" width="2.5" height="21" fill="#fff"/>' +
  '<path d="M24.5 11 L32 11 L32 13.5 L24.5 15 Z" fill="#fff"/></svg>';

export const ICONS: Icon[] = [
  { src: `data:image/png;base64,${PNG}`, mimeType: 'image/png', sizes: ['48x48'] },
  { src: `data:image/svg+xml;base64,${Buffer.from(SVG).toString('base64')}`, mimeType: 'image/svg+xml', sizes: ['any'] },
];
