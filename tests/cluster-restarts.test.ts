import { describe, expect, it } from 'vitest';
import { RestartBudget } from '../src/cluster.js';

/**
 * The cluster primary's restart policy (src/cluster.ts): a worker that dies before it listens is
 * replaced after a pause that doubles (250 ms up to 5 s), and five such deaths in a row within a minute
 * stop the server; a worker that served is replaced at once, and more than five of those within a
 * minute stop it.
 */
describe('RestartBudget', () => {
  it('backs off start failures 250, 500, 1000, 2000 ms and stops at the fifth in a row', () => {
    const budget = new RestartBudget();
    const answers = [0, 10, 20, 30, 40].map((t) => budget.startFailed(t));
    expect(answers.slice(0, 4)).toEqual([
      { restart: true, delayMs: 250, deaths: 1 },
      { restart: true, delayMs: 500, deaths: 2 },
      { restart: true, delayMs: 1_000, deaths: 3 },
      { restart: true, delayMs: 2_000, deaths: 4 },
    ]);
    expect(answers[4]).toEqual({ restart: false, deaths: 5 });
  });

  it('starts counting start failures again once a worker listens', () => {
    const budget = new RestartBudget();
    for (const t of [0, 1, 2, 3]) budget.startFailed(t);
    budget.listened();
    expect(budget.startFailed(4)).toEqual({ restart: true, delayMs: 250, deaths: 1 });
  });

  it('forgets start failures older than a minute', () => {
    const budget = new RestartBudget();
    for (const t of [0, 1, 2, 3]) budget.startFailed(t);
    expect(budget.startFailed(60_010)).toEqual({ restart: true, delayMs: 250, deaths: 1 });
  });

  it('restarts a worker that served at once, up to five times a minute, and stops at the sixth', () => {
    const budget = new RestartBudget();
    for (const t of [0, 1_000, 2_000, 3_000, 4_000]) expect(budget.died(t)).toMatchObject({ restart: true, delayMs: 0 });
    expect(budget.died(5_000)).toEqual({ restart: false, deaths: 6 });
    // A minute after the first ones, they no longer count.
    const later = new RestartBudget();
    for (const t of [0, 1, 2, 3, 4]) later.died(t);
    expect(later.died(70_000)).toEqual({ restart: true, delayMs: 0, deaths: 1 });
  });
});
