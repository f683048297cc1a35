import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ARCS, arcTargets, camelotCode, judge, keyRelation, sequence, type SequenceItem } from '../src/catalog/sequence.js';
import { memoryClient, type ToolResult as Result } from '../scripts/lib/memory-client.js';
import { prng } from '../scripts/lib/prng.js';

type Track = { track_id: string; key: number; mode: number; features: { energy: number; tempo: number }; position?: number; camelot?: string | null };
type Transition = { tempo_step: number | null; energy_step: number; key_relation: string; smooth: boolean };

const item = (energy: number, tempo: number | null = 120, key: number | null = 0, mode: number | null = 1): SequenceItem => ({ energy, tempo, key, mode });
const isPermutation = (order: number[], n: number) => [...order].sort((a, b) => a - b).every((v, i) => v === i) && order.length === n;

describe('Camelot wheel', () => {
  it('codes keys as DJs read them', () => {
    expect(camelotCode(0, 1)).toBe('8B'); // C major
    expect(camelotCode(9, 0)).toBe('8A'); // A minor
    expect(camelotCode(7, 1)).toBe('9B'); // G major
    expect(camelotCode(4, 0)).toBe('9A'); // E minor
    expect(camelotCode(6, 1)).toBe('2B'); // F♯ major
    expect(camelotCode(11, 1)).toBe('1B'); // B major
    expect(camelotCode(5, 1)).toBe('7B'); // F major
    expect(camelotCode(0, 0)).toBe('5A'); // C minor
    expect(camelotCode(-1, 1)).toBeNull();
    expect(camelotCode(3, null)).toBeNull();
  });

  it('tells same key, relative, one step round and clashes apart', () => {
    expect(keyRelation(item(0.5, 120, 0, 1), item(0.5, 120, 0, 1))).toBe('same');
    expect(keyRelation(item(0.5, 120, 0, 1), item(0.5, 120, 9, 0))).toBe('relative');
    expect(keyRelation(item(0.5, 120, 0, 1), item(0.5, 120, 7, 1))).toBe('adjacent');
    expect(keyRelation(item(0.5, 120, 0, 1), item(0.5, 120, 5, 1))).toBe('adjacent');
    expect(keyRelation(item(0.5, 120, 11, 1), item(0.5, 120, 6, 1))).toBe('adjacent'); // 1B – 2B
    expect(keyRelation(item(0.5, 120, 4, 1), item(0.5, 120, 11, 1))).toBe('adjacent'); // 12B – 1B: the wheel wraps
    expect(keyRelation(item(0.5, 120, 0, 1), item(0.5, 120, 6, 1))).toBe('clash');
    expect(keyRelation(item(0.5, 120, 0, 1), item(0.5, 120, 2, 0))).toBe('clash');
    expect(keyRelation(item(0.5, 120, null, 1), item(0.5, 120, 6, 1))).toBe('unknown');
  });
});

describe('sequence', () => {
  it('follows the arc exactly when nothing else is at stake', () => {
    const items = [0.9, 0.1, 0.5, 0.3, 0.7].map((e) => item(e));
    // Energy steps of any size allowed, same tempo and key: only the arc is at stake.
    const energies = (arc: (typeof ARCS)[number]) => sequence(items, arc, { maxTempoStep: 10, maxEnergyStep: 1 }).map((i) => items[i]!.energy);
    expect(energies('rising')).toEqual([0.1, 0.3, 0.5, 0.7, 0.9]);
    expect(energies('falling')).toEqual([0.9, 0.7, 0.5, 0.3, 0.1]);
    const peak = energies('peak');
    expect(peak.indexOf(0.9)).toBe(2); // of five positions (0, 25, 50, 75, 100%), the one nearest 60%
    expect(peak[0]).toBeLessThan(peak[3]!);
    expect(peak[4]).toBeLessThan(peak[3]!);
    expect(arcTargets('steady', [0.2, 0.4, 0.9])).toEqual([0.4, 0.4, 0.4]);
  });

  it('is deterministic, returns every track once, and beats the given and random orders on smoothness', () => {
    const random = prng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 10 + Math.floor(random() * 40);
      // Correlated like real lists: tempo and key loosely follow energy.
      const items = Array.from({ length: n }, () => {
        const energy = random();
        return item(energy, 90 + energy * 50 + random() * 20, Math.floor(random() * 12), random() < 0.6 ? 1 : 0);
      });
      for (const arc of ARCS) {
        const order = sequence(items, arc);
        expect(isPermutation(order, n)).toBe(true);
        expect(sequence(items, arc)).toEqual(order);
        const given = items.map((_, i) => i);
        if (arc === 'steady') expect(judge(items, order, arc).smoothness).toBeGreaterThanOrEqual(judge(items, given, arc).smoothness);
        // The arc itself is followed closely (the list's own energies, so targets are reachable).
        expect(judge(items, order, arc).arcError).toBeLessThan(judge(items, given, arc).arcError + 1e-9);
      }
    }
  });

  it('keeps the arc when the tempos are far apart: a rough transition costs at most one bound, however rough', () => {
    // Four tracks 40 BPM apart in clashing keys: no order is smooth, so the arc decides.
    const items = [item(0.54, 113, 2, 1), item(0.39, 110, 5, 0), item(0.4, 71, 10, 0), item(0.67, 84, 3, 1)];
    const energies = sequence(items, 'rising').map((i) => items[i]!.energy);
    expect(energies.slice(2)).toEqual([0.54, 0.67]);
    expect(Math.max(...energies.slice(0, 2))).toBeLessThan(0.54);
  });

  it('prefers compatible keys and small tempo steps among tracks of equal energy', () => {
    // Steady arc over equal energies: only the transitions matter. Keys 8B, 9B, 10B, 11B and tempos
    // 100–130 shuffled; the smooth order walks round the wheel.
    const items = [item(0.5, 130, 9, 1), item(0.5, 100, 0, 1), item(0.5, 120, 2, 1), item(0.5, 110, 7, 1)];
    const order = sequence(items, 'steady');
    const q = judge(items, order, 'steady');
    expect(q.smoothness).toBe(1);
    expect(order.map((i) => items[i]!.tempo)).toSatisfy((t: number[]) => t.join() === '100,110,120,130' || t.join() === '130,120,110,100');
  });
});

describe('sequence_playlist and arc over the built catalog', () => {
  const { call, open, close } = memoryClient(inject('builtDataDir'), 'sequence-test');
  beforeAll(open);
  afterAll(close);

  it('orders a recommendation along the arc and reports each transition', async () => {
    const list = await call('recommend_by_genre', { genre: 'latin', limit: 20 });
    const ids = (list.structuredContent!.tracks as Track[]).map((t) => t.track_id);
    const r = await call('sequence_playlist', { tracks: ids, arc: 'rising' });
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    const s = r.structuredContent!;
    const tracks = s.tracks as Track[];
    expect(tracks.map((t) => t.track_id).sort()).toEqual([...ids].sort());
    expect(tracks.map((t) => t.position)).toEqual(ids.map((_, i) => i + 1));
    const transitions = s.sequence.transitions as Transition[];
    expect(transitions).toHaveLength(19);
    transitions.forEach((t, p) => {
      expect(t.energy_step).toBeCloseTo(tracks[p + 1]!.features.energy - tracks[p]!.features.energy, 3);
      expect(t.smooth).toBe(
        (t.tempo_step === null || Math.abs(t.tempo_step) <= 10) && Math.abs(t.energy_step) <= 0.2 + 1e-9 && t.key_relation !== 'clash',
      );
    });
    expect(s.sequence.smoothness).toBeCloseTo(transitions.filter((t) => t.smooth).length / 19, 3);
    // Rising: the second half is more energetic than the first.
    const mean = (xs: Track[]) => xs.reduce((a, t) => a + t.features.energy, 0) / xs.length;
    expect(mean(tracks.slice(10))).toBeGreaterThan(mean(tracks.slice(0, 10)));
    expect(r.content[0]!.text).toMatch(/^20 tracks ordered as rising \(energy builds/);
    expect(r.content[0]!.text).toMatch(/→ [+−]\d+ BPM, [+−]\d\.\d\d energy, keys (same|relative|adjacent|clash)/);
    // Same request, same order.
    expect((await call('sequence_playlist', { tracks: ids, arc: 'rising' })).structuredContent).toEqual(s);
  });

  it('recommend_by_genre and similar_tracks with arc return their own list, ordered', async () => {
    const plain = await call('recommend_by_genre', { genre: 'rock', limit: 15 });
    const arced = await call('recommend_by_genre', { genre: 'rock', limit: 15, arc: 'peak' });
    expect(arced.isError, arced.content[0]?.text).toBeFalsy();
    const ids = (x: Result) => (x.structuredContent!.tracks as Track[]).map((t) => t.track_id);
    expect([...ids(arced)].sort()).toEqual([...ids(plain)].sort());
    expect(arced.structuredContent!.sequence.arc).toBe('peak');
    expect(plain.structuredContent!.sequence).toBeUndefined();
    const seed = ids(plain)[0]!;
    const similar = await call('similar_tracks', { seed_tracks: [seed], limit: 10, arc: 'falling' });
    expect(similar.isError, similar.content[0]?.text).toBeFalsy();
    const energies = (similar.structuredContent!.tracks as Track[]).map((t) => t.features.energy);
    expect(energies[0]).toBeGreaterThan(energies[energies.length - 1]!);
  });

  it('refuses unknown tracks with suggestions, and unknown arcs naming the valid ones', async () => {
    const bad = await call('sequence_playlist', { tracks: ['Bohemian Rapsody – Qeen', 'nope-not-a-track'] });
    expect(bad.isError).toBe(true);
    expect(bad.content[0]!.text).toMatch(/playlist track «Bohemian Rapsody – Qeen» is not in the catalog; closest titles:/);
    const arc = await call('sequence_playlist', { tracks: ['a', 'b'], arc: 'zigzag' });
    expect(arc.isError).toBe(true);
    expect(arc.content[0]!.text).toMatch(/arc.*rising.*falling.*peak.*wave.*steady/);
    const dup = await call('recommend_by_genre', { genre: 'pop', limit: 2 });
    const [x] = (dup.structuredContent!.tracks as Track[]).map((t) => t.track_id);
    const one = await call('sequence_playlist', { tracks: [x, x] });
    expect(one.isError).toBe(true);
    expect(one.content[0]!.text).toMatch(/at least two different tracks/);
  });
});
