import { describe, expect, it } from 'vitest';
import { runFromNow, runNow, runSliced, SharedBuild, type Steps } from '../src/catalog/slices.js';

/**
 * Work run in slices (a catalog's indexes after a load, a call waiting for them, the knowledge side)
 * shares the event loop's turns: however many computations are under way, a turn runs one budget of
 * their steps and then lets requests through, so a ping waits for one slice, not one slice per computation.
 */
describe('computations run in slices', () => {
  /** A computation of `n` steps that notes the turn of the event loop each step ran in. */
  function* noting(n: number, turns: number[], turn: () => number, value: string): Steps<string> {
    for (let i = 0; i < n; i++) {
      turns.push(turn());
      yield;
    }
    return value;
  }

  it('share one budget per turn: with a budget of 0, one step per turn among all of them', async () => {
    let turn = 0;
    let counting = true;
    const count = () => {
      turn++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const turns: number[] = [];
    const done = await Promise.all(['a', 'b', 'c'].map((v) => runSliced(noting(5, turns, () => turn, v), 0)));
    counting = false;
    expect(done).toEqual(['a', 'b', 'c']);
    expect(turns).toHaveLength(15);
    expect(new Set(turns).size, `turns of the steps: ${turns.join(',')}`).toBe(15);
  });

  it('each finish with its own value or error, and run at once with runNow', async () => {
    function* failing(): Steps<number> {
      yield;
      throw new Error('step failed');
    }
    const turns: number[] = [];
    const [ok, bad] = await Promise.allSettled([runSliced(noting(3, turns, () => 0, 'ok')), runSliced(failing())]);
    expect(ok).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'step failed' } });
    expect(runNow(noting(2, [], () => 0, 'now'))).toBe('now');
  });
});

describe('a value made once by steps (SharedBuild)', () => {
  it('is made once whoever drives it: a second driver continues the same build, and later callers get the value', async () => {
    let made = 0;
    let steps = 0;
    const build = new SharedBuild(function* () {
      made++;
      for (let i = 0; i < 6; i++) {
        steps++;
        yield;
      }
      return 'value';
    });
    expect(build.ready).toBe(false);
    const first = build.steps();
    first.next();
    first.next();
    const [viaSlices] = await Promise.all([build.later(), runSliced(first)]);
    expect(viaSlices).toBe('value');
    expect(build.now()).toBe('value');
    expect([build.ready, build.value, made, steps]).toEqual([true, 'value', 1, 6]);
  });

  it('runFromNow takes its first slice in the caller\'s turn: a short computation is done before the loop turns, a long one goes on in slices', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('next turn'));
    const short = runFromNow((function* () {
      yield;
      yield;
      order.push('short done');
      return 1;
    })());
    order.push('caller goes on');
    expect(order).toEqual(['short done', 'caller goes on']);
    expect(await short).toBe(1);
    // A budget of 0: one step now, the rest in later turns.
    let steps = 0;
    const long = runFromNow((function* () {
      for (let i = 0; i < 3; i++) {
        steps++;
        yield;
      }
      return 'long';
    })(), 0);
    expect(steps).toBe(1);
    expect(await long).toBe('long');
    const failing = function* (): Steps<never> {
      yield;
      throw new Error('bad step');
    };
    await expect(runFromNow(failing())).rejects.toThrow('bad step');
  });

  it('gives every later caller the error its build ended with', () => {
    const build = new SharedBuild<number>(function* () {
      yield;
      throw new Error('parts disagree');
    });
    expect(() => build.now()).toThrow('parts disagree');
    expect(() => build.now()).toThrow('parts disagree');
    expect(build.ready).toBe(false);
  });
});
