import { scaleBand, scaleLinear, scalePoint } from "d3-scale";
import { line } from "d3-shape";

/*
 * Chart geometry for the dashboard, computed on the server with d3-scale and d3-shape and
 * emitted as plain <svg> by server components: the charts need no JavaScript in the
 * browser, and these functions are pure (numbers in, path strings and rectangles out).
 */

/** Inner margins of every chart, in viewBox units. */
export const MARGIN = { top: 12, right: 12, bottom: 28, left: 44 } as const;

export interface Frame {
  width: number;
  height: number;
}

export interface Tick {
  value: number;
  /** Position along the axis, in viewBox units. */
  at: number;
  label: string;
}

export interface LineSeries {
  name: string;
  /** One value per x slot; null leaves a gap (no reads that minute). */
  values: (number | null)[];
}

/** Paths of several series over shared x slots, y from 0 to `yMax`. */
export function linePaths(frame: Frame, slots: string[], series: LineSeries[], yMax: number, format: (v: number) => string) {
  const x = scalePoint<string>().domain(slots).range([MARGIN.left, frame.width - MARGIN.right]);
  const y = scaleLinear().domain([0, yMax]).range([frame.height - MARGIN.bottom, MARGIN.top]);
  const path = line<number | null>()
    .defined((v) => v !== null)
    .x((_, i) => x(slots[i]!) ?? 0)
    .y((v) => y(v ?? 0));
  return {
    paths: series.map((s) => ({
      name: s.name,
      d: path(s.values) ?? "",
      // A lone point between gaps draws no line segment: mark it with a dot instead.
      dots: s.values.flatMap((v, i) =>
        v !== null && s.values[i - 1] == null && s.values[i + 1] == null ? [{ cx: x(slots[i]!) ?? 0, cy: y(v) }] : [],
      ),
    })),
    yTicks: y.ticks(4).map((v) => ({ value: v, at: y(v), label: format(v) })),
    xAt: (slot: string) => x(slot) ?? 0,
  };
}

export interface StackSeries {
  name: string;
  values: number[];
}

/** Stacked bars: one bar per slot, the series stacked bottom-up in the order given. */
export function stackedBars(frame: Frame, slots: string[], series: StackSeries[]) {
  const x = scaleBand<string>().domain(slots).range([MARGIN.left, frame.width - MARGIN.right]).paddingInner(0.2);
  const totals = slots.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const y = scaleLinear().domain([0, max]).nice(4).range([frame.height - MARGIN.bottom, MARGIN.top]);
  const rects = series.map((s, si) => ({
    name: s.name,
    rects: slots.flatMap((slot, i) => {
      const v = s.values[i] ?? 0;
      if (v <= 0) return [];
      const below = series.slice(0, si).reduce((sum, prev) => sum + (prev.values[i] ?? 0), 0);
      const top = y(below + v);
      return [{ x: x(slot) ?? 0, y: top, width: Math.max(1, x.bandwidth()), height: Math.max(0.5, y(below) - top), value: v, slot }];
    }),
  }));
  return {
    rects,
    yTicks: y.ticks(4).filter(Number.isInteger).map((v) => ({ value: v, at: y(v), label: compact(v) })),
    xAt: (slot: string) => (x(slot) ?? 0) + x.bandwidth() / 2,
  };
}

/** 1234 → "1.2k": axis labels stay short on a phone. */
export function compact(n: number): string {
  return new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 }).format(n);
}

/** "14:05" (UTC) for a minute's ISO time. */
export function hhmm(iso: string): string {
  return iso.slice(11, 16);
}

/** Every `step`-th slot gets an x label, always the last one; the rest stay unlabelled. */
export function labelledSlots(slots: string[], step: number): string[] {
  return slots.filter((_, i) => (slots.length - 1 - i) % step === 0);
}

/** What {@link chartWindow} decides for a series of slots. */
export interface ChartWindow<T> {
  /** The slots to draw: from the first one with data on (at least `minSlots` of the newest). */
  shown: T[];
  /** Slots with data. */
  counted: number;
  /** Too few slots with data to draw a trend: the chart says it is collecting data instead. */
  collecting: boolean;
}

/**
 * Which slots a chart spans. A young app has a minute or two of counts at the right edge
 * of an hour: drawn over the whole hour they are a sliver against the axis. So a chart
 * starts at its first slot with data (keeping at least `minSlots`, so one minute is not
 * stretched over the whole width), and until `enough` slots have data it draws nothing
 * and says so. Slots come oldest first.
 */
export function chartWindow<T>(slots: T[], hasData: (slot: T) => boolean, options: { minSlots: number; enough: number }): ChartWindow<T> {
  const first = slots.findIndex(hasData);
  const counted = slots.filter(hasData).length;
  const start = first < 0 ? Math.max(0, slots.length - options.minSlots) : Math.min(first, Math.max(0, slots.length - options.minSlots));
  return { shown: slots.slice(start), counted, collecting: counted < options.enough };
}
