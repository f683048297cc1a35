import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { raceAbort } from '../src/abort.js';

const why = (signal: AbortSignal) => new Error(`stopped: ${String(signal.reason)}`);

describe('raceAbort', () => {
  it('settles as the promise does while the signal stays quiet, and leaves no listener behind', async () => {
    const controller = new AbortController();
    await expect(raceAbort(Promise.resolve(7), controller.signal, why)).resolves.toBe(7);
    await expect(raceAbort(Promise.reject(new Error('late')), controller.signal, why)).rejects.toThrow('late');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects with the given reason as soon as the signal aborts, without waiting for the promise', async () => {
    const controller = new AbortController();
    const never = new Promise<number>(() => undefined);
    const raced = raceAbort(never, controller.signal, why);
    controller.abort('client left');
    await expect(raced).rejects.toThrow('stopped: client left');
  });

  it('rejects at once when the signal has already aborted', async () => {
    await expect(raceAbort(Promise.resolve(1), AbortSignal.abort('gone'), why)).rejects.toThrow('stopped: gone');
  });
});
