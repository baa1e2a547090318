import postgres from "postgres";
import { load, median } from "./load";

/** Sizes of the `size` scenario: the home page at each number of live rooms. */
export const SIZES = [50, 1_000, 10_000] as const;

export interface SizeRow {
  rooms: number;
  rps: number;
  p50: number;
  p99: number;
  /** Bytes of the home page's HTML at this size. */
  htmlBytes: number;
  errors: number;
}

/**
 * The home page at 50 (or as many as the earlier scenarios left), 1,000 and 10,000 rooms on one cached server. Rooms are added by
 * SQL between sizes (as a bulk import would) and the bench's keys cleared, so each size
 * starts from a cold cache; then a warm-up, and `rounds` measured runs. Sizes only grow,
 * so they cannot alternate: the ratios are against the 50-room run of the same scenario.
 */
export async function sizeScenario(options: {
  pgUrl: string;
  url: string;
  seconds: number;
  rounds: number;
  clearCache: () => Promise<void>;
}): Promise<SizeRow[]> {
  const sql = postgres(options.pgUrl, { max: 1, onnotice: () => {} });
  const rows: SizeRow[] = [];
  try {
    for (const planned of SIZES) {
      const [{ n } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from rooms where deleted_at is null`;
      // The scenarios before it may have added rooms (the peers' races do): the first size is then what is there.
      const size = Math.max(planned, n);
      if (n < size) {
        await sql`insert into rooms (name, description, owner_id, owner_name)
          select 'Sized room ' || i, 'A room for measuring size, number ' || i, 'bench-owner-000001', 'Bench'
          from generate_series(${n + 1}::int, ${size}::int) i`;
      }
      await options.clearCache();
      const html = await (await fetch(options.url)).text();
      await load(options.url, 2, 10);
      const runs = [];
      for (let r = 0; r < options.rounds; r++) runs.push(await load(options.url, options.seconds));
      rows.push({
        rooms: size,
        rps: Math.round(median(runs.map((x) => x.rps))),
        p50: median(runs.map((x) => x.p50)),
        p99: median(runs.map((x) => x.p99)),
        htmlBytes: Buffer.byteLength(html),
        errors: runs.reduce((k, x) => k + x.errors + x.non2xx, 0),
      });
    }
  } finally {
    await sql.end();
  }
  return rows;
}
