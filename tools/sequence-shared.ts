import { z } from 'zod';
import type { TrackView } from '../src/catalog/catalog.js';
import {
  ARC_DESCRIPTIONS, ARCS, DEFAULT_LIMITS, camelotCode, judge, sequence,
  type Arc, type SequenceItem, type SequenceLimits, type Transition,
} from '../src/catalog/sequence.js';

/** Sequencing arguments: shared by sequence_playlist and the `arc` option of the list tools. */
export const arcArg = z
  .enum(ARCS)
  .describe(`Order the list for flow along an energy arc: ${ARCS.map((a) => `${a} (${ARC_DESCRIPTIONS[a]})`).join('; ')}.`);

export const limitsShape = {
  max_tempo_step: z.number().min(1).max(100).default(DEFAULT_LIMITS.maxTempoStep)
    .describe(`Largest tempo change between neighbouring tracks that counts as smooth, BPM (default ${DEFAULT_LIMITS.maxTempoStep}).`),
  max_energy_step: z.number().min(0.01).max(1).default(DEFAULT_LIMITS.maxEnergyStep)
    .describe(`Largest energy change between neighbouring tracks that counts as smooth, 0–1 (default ${DEFAULT_LIMITS.maxEnergyStep}).`),
};

export const transitionShape = z.object({
  from_position: z.number().int().describe('1-based position in the sequenced list'),
  to_position: z.number().int(),
  tempo_step: z.number().nullable().describe('BPM change; null when a tempo is not recorded'),
  energy_step: z.number(),
  key_relation: z.enum(['same', 'relative', 'adjacent', 'clash', 'unknown']).describe('Camelot wheel: same key, relative major/minor, one step round, or a clash'),
  smooth: z.boolean().describe('tempo and energy steps within the bounds and keys compatible (an unrecorded tempo or key is not held against it)'),
});

export const sequenceReportShape = z.object({
  arc: z.enum(ARCS),
  description: z.string(),
  smoothness: z.number().describe('share of transitions that are smooth, 0–1'),
  given_order_smoothness: z.number().describe('the same share for the list in the order it was given (ranked order for the list tools)'),
  arc_error: z.number().describe('mean |energy − the arc\'s target| over the positions'),
  max_tempo_step: z.number(),
  max_energy_step: z.number(),
  transitions: z.array(transitionShape),
});

export type SequenceReport = z.infer<typeof sequenceReportShape>;

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** What the sequencer reads of a track; a tempo of 0 and key -1 are the dataset's "not detected". */
export function sequenceItem(t: TrackView): SequenceItem {
  return {
    energy: t.features.energy,
    tempo: t.features.tempo > 0 ? t.features.tempo : null,
    key: t.key >= 0 ? t.key : null,
    mode: t.mode === 0 || t.mode === 1 ? t.mode : null,
  };
}

const transitionReport = (t: Transition, p: number): z.infer<typeof transitionShape> => ({
  from_position: p + 1,
  to_position: p + 2,
  tempo_step: t.tempoStep === null ? null : round(t.tempoStep, 1),
  energy_step: round(t.energyStep, 3),
  key_relation: t.key,
  smooth: t.tempoOk && t.energyOk && t.keyOk,
});

/** Order `tracks` along `arc`; the ordered list and the report of its transitions. */
export function sequenceTracks<T extends TrackView>(
  tracks: readonly T[],
  arc: Arc,
  limits: SequenceLimits,
): { tracks: T[]; report: SequenceReport } {
  const items = tracks.map(sequenceItem);
  const order = sequence(items, arc, limits);
  const quality = judge(items, order, arc, limits);
  const given = judge(items, items.map((_, i) => i), arc, limits);
  return {
    tracks: order.map((i) => tracks[i]!),
    report: {
      arc,
      description: ARC_DESCRIPTIONS[arc],
      smoothness: round(quality.smoothness, 3),
      given_order_smoothness: round(given.smoothness, 3),
      arc_error: round(quality.arcError, 3),
      max_tempo_step: limits.maxTempoStep,
      max_energy_step: limits.maxEnergyStep,
      transitions: quality.transitions.map(transitionReport),
    },
  };
}

/** `energy 0.62 · 124 BPM · 8B`: what a curator reads to judge a transition. */
export function flowFacts(t: TrackView): string {
  const code = camelotCode(t.key >= 0 ? t.key : null, t.mode);
  return `energy ${t.features.energy.toFixed(2)} · ${t.features.tempo > 0 ? `${Math.round(t.features.tempo)} BPM` : 'tempo unknown'} · ${code ?? 'key unknown'}`;
}

/** `→ +4 BPM, +0.06 energy, keys adjacent`, flagged when outside the bounds. */
export function transitionLine(t: z.infer<typeof transitionShape>): string {
  const sign = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
  const tempo = t.tempo_step === null ? 'tempo unknown' : `${sign(t.tempo_step, 0)} BPM`;
  const keys = t.key_relation === 'unknown' ? 'key unknown' : `keys ${t.key_relation === 'clash' ? 'clash' : t.key_relation}`;
  return `→ ${tempo}, ${sign(t.energy_step, 2)} energy, ${keys}${t.smooth ? '' : ' (rough)'}`;
}

/** One line summing a sequenced list up. */
export function sequenceSummary(r: SequenceReport, givenWhat: string): string {
  const smooth = r.transitions.filter((t) => t.smooth).length;
  return (
    `ordered as ${r.arc} (${r.description}): ${smooth} of ${r.transitions.length} transitions smooth ` +
    `(within ±${r.max_tempo_step} BPM, ±${r.max_energy_step} energy, compatible keys); ${givenWhat}: ` +
    `${Math.round(r.given_order_smoothness * r.transitions.length)} of ${r.transitions.length}.`
  );
}
