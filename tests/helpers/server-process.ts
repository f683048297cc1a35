import type { ChildProcess } from 'node:child_process';

/** The Streamable HTTP URL a server process announces on stderr (spawned with stderr piped); rejects if it exits first. */
export function announcedUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /at (http:\/\/\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}
