import { z } from "zod";
import { HIT_START, HIT_STOP } from "../db/queries/search";

/** A piece of a snippet: plain text, and whether it matched the query. Rendered as text (and <mark>), never as HTML. */
export interface Segment {
  text: string;
  hit: boolean;
}

export const segmentSchema = z.object({ text: z.string(), hit: z.boolean() });

/**
 * Splits ts_headline output on its markers. The markers are noncharacters stripped from
 * the text before ts_headline ran (lib/db/queries/search.ts), so only real hits split;
 * whatever else the text holds (`<script>`, `&amp;`) stays text.
 */
export function toSegments(marked: string): Segment[] {
  const segments: Segment[] = [];
  let hit = false;
  let text = "";
  const push = () => {
    if (!text) return;
    const last = segments.at(-1);
    if (last && last.hit === hit) last.text += text;
    else segments.push({ text, hit });
    text = "";
  };
  for (const ch of marked) {
    if (ch === HIT_START || ch === HIT_STOP) {
      push();
      hit = ch === HIT_START;
    } else text += ch;
  }
  push();
  return segments;
}

/**
 * At most about `max` characters around the first hit, cut at word boundaries, with "…"
 * where text was left out. The whole text comes back marked (so that a message's
 * `<script>` survives, see the query); long messages are cut here.
 */
export function excerpt(segments: Segment[], max = 220): Segment[] {
  // Code points, not UTF-16 units: a cut never splits an emoji.
  const pieces = segments.map((s) => ({ chars: [...s.text], hit: s.hit }));
  const total = pieces.reduce((n, p) => n + p.chars.length, 0);
  if (total <= max) return segments;
  let offset = 0;
  let firstHit = 0;
  for (const p of pieces) {
    if (p.hit) {
      firstHit = offset;
      break;
    }
    offset += p.chars.length;
  }
  const end = Math.min(total, Math.max(0, firstHit - Math.floor(max / 4)) + max);
  const start = Math.max(0, end - max);
  const out: Segment[] = [];
  let at = 0;
  for (const p of pieces) {
    const from = Math.max(start, at);
    const to = Math.min(end, at + p.chars.length);
    if (from < to) out.push({ text: p.chars.slice(from - at, to - at).join(""), hit: p.hit });
    at += p.chars.length;
  }
  const first = out[0];
  const last = out.at(-1);
  // Cut at word boundaries (a hit is never cut short).
  if (start > 0 && first && !first.hit) first.text = first.text.replace(/^\S*\s*/u, "");
  if (end < total && last && !last.hit) last.text = last.text.replace(/\s*\S*$/u, "");
  if (start > 0) out.unshift({ text: "… ", hit: false });
  if (end < total) out.push({ text: " …", hit: false });
  return out.filter((s) => s.text.length > 0);
}
