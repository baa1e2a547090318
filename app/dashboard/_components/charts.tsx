import type { ReactNode } from "react";
import { MARGIN, linePaths, stackedBars, type Frame, type LineSeries, type StackSeries } from "@/lib/dashboard/charts";

/*
 * Server-rendered SVG charts (geometry from lib/dashboard/charts.ts). Each chart is an
 * image with a label for screen readers, followed by a visually hidden table with the same
 * numbers; the legend is HTML, so it wraps on a phone.
 */

const FRAME: Frame = { width: 640, height: 220 };

interface Common {
  title: string;
  /** One line for screen readers: what the chart shows at a glance. */
  summary: string;
  /** x slot ids (ISO minutes, run ids) and their visible labels. */
  slots: string[];
  slotLabel: (slot: string) => string;
  /** Slots that get an x-axis label. */
  labelled: string[];
  /** The hidden table: header of the slot column, and the value formatter. */
  slotHeader: string;
  format: (v: number | null) => string;
  /** Too little data for a trend yet: this text is drawn instead of the marks (the table still has the numbers). */
  collecting?: string;
}

function Legend({ names }: { names: string[] }) {
  return (
    <ul className="chart-legend" aria-hidden="true">
      {names.map((name, i) => (
        <li key={name}>
          <span className={`legend-swatch series-${i % 7}`} />
          {name}
        </li>
      ))}
    </ul>
  );
}

function DataTable({ caption, slotHeader, slots, slotLabel, series, format }: {
  caption: string;
  slotHeader: string;
  slots: string[];
  slotLabel: (slot: string) => string;
  series: { name: string; values: (number | null)[] }[];
  format: (v: number | null) => string;
}) {
  return (
    // The wrapper hides it: a table's caption and rows escape `overflow: hidden` on the table itself.
    <div className="visually-hidden">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{slotHeader}</th>
            {series.map((s) => (
              <th scope="col" key={s.name}>
                {s.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {slots.map((slot, i) => (
            <tr key={slot}>
              <th scope="row">{slotLabel(slot)}</th>
              {series.map((s) => (
                <td key={s.name}>{format(s.values[i] ?? null)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Axes({ ticks, xLabels }: { ticks: { at: number; label: string }[]; xLabels: { x: number; label: string }[] }) {
  return (
    <g className="chart-axes">
      {ticks.map((t) => (
        <g key={t.at}>
          <line className="chart-grid" x1={MARGIN.left} x2={FRAME.width - MARGIN.right} y1={t.at} y2={t.at} />
          <text className="chart-tick" x={MARGIN.left - 6} y={t.at} dy="0.32em" textAnchor="end">
            {t.label}
          </text>
        </g>
      ))}
      {xLabels.map((l) => (
        <text key={l.x} className="chart-tick" x={l.x} y={FRAME.height - MARGIN.bottom + 18} textAnchor="middle">
          {l.label}
        </text>
      ))}
    </g>
  );
}

/**
 * The frame every chart shares: title, legend, the SVG with its axes and empty text
 * around the chart's own marks (`children`), and the hidden table of the same numbers.
 */
function Figure(props: Common & {
  series: { name: string; values: (number | null)[] }[];
  yTicks: { at: number; label: string }[];
  xAt: (slot: string) => number;
  /** Shows `emptyText` across the plot. */
  empty: boolean;
  emptyText?: string;
  children: ReactNode;
}) {
  const { title, summary, series } = props;
  return (
    <figure className="chart">
      <figcaption className="chart-title">{title}</figcaption>
      <Legend names={series.map((s) => s.name)} />
      <svg className="chart-svg" viewBox={`0 0 ${FRAME.width} ${FRAME.height}`} role="img" aria-label={`${title}. ${summary}`}>
        <Axes ticks={props.yTicks} xLabels={props.labelled.map((slot) => ({ x: props.xAt(slot), label: props.slotLabel(slot) }))} />
        {props.collecting ? <EmptyText text={props.collecting} /> : props.empty && props.emptyText && <EmptyText text={props.emptyText} />}
        {!props.collecting && props.children}
      </svg>
      <DataTable caption={title} slotHeader={props.slotHeader} slots={props.slots} slotLabel={props.slotLabel} series={series} format={props.format} />
    </figure>
  );
}

function EmptyText({ text }: { text: string }) {
  return (
    <text className="chart-empty" x={(MARGIN.left + FRAME.width - MARGIN.right) / 2} y={(MARGIN.top + FRAME.height - MARGIN.bottom) / 2} textAnchor="middle">
      {text}
    </text>
  );
}

/** Lines over the slots, y from 0 to `yMax` (1 for rates); `emptyText` is drawn when there is no value at all. */
export function LineChart(props: Common & { series: LineSeries[]; yMax: number; yFormat: (v: number) => string; emptyText?: string }) {
  const { paths, yTicks, xAt } = linePaths(FRAME, props.slots, props.series, props.yMax, props.yFormat);
  const empty = props.series.every((s) => s.values.every((v) => v === null));
  return (
    <Figure {...props} yTicks={yTicks} xAt={xAt} empty={empty}>
      {paths.map((p, i) => (
        <g key={p.name} className={`series-${i % 7}`}>
          <path className="chart-line" d={p.d} />
          {p.dots.map((d) => (
            <circle key={`${d.cx}`} className="chart-dot" cx={d.cx} cy={d.cy} r={3} />
          ))}
        </g>
      ))}
    </Figure>
  );
}

/** Stacked bars, one per slot; `emptyText` is drawn across the plot when every value is 0. */
export function StackedBarChart(props: Common & { series: StackSeries[]; emptyText?: string }) {
  const { rects, yTicks, xAt } = stackedBars(FRAME, props.slots, props.series);
  const empty = rects.every((s) => s.rects.length === 0);
  return (
    <Figure {...props} yTicks={yTicks} xAt={xAt} empty={empty}>
      {rects.map((s, i) => (
        <g key={s.name} className={`series-${i % 7}`}>
          {s.rects.map((r) => (
            <rect key={r.slot} className="chart-bar" x={r.x} y={r.y} width={r.width} height={r.height} rx={Math.min(2, r.width / 4)} />
          ))}
        </g>
      ))}
    </Figure>
  );
}
