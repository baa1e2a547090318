import { describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../tests/support/test-env";
import { createDb } from "../client";
import { copyFields, isoTimestamp, LiveListParser, type PackedRooms } from "./copy-rows";
import { listThread } from "./copy-rows-thread";
import { streamLiveRoomJson, type LiveRoomJson } from "./room-reconciliation";
import { listLiveRoomsWithVersion } from "./rooms";

/** isoTimestamp must give, byte for byte, what the read path's JSON holds: Date's toISOString of drizzle's Date. */
describe("isoTimestamp", () => {
  it("matches Date for Postgres's own timestamptz text, microseconds and all", async () => {
    const db = await createTestDatabase();
    try {
      const rows = await db.sql<{ t: string }[]>`
        select (timestamptz '2026-11-21 21:00:56.000000+00' + (i * 7919 || ' microseconds')::interval)::text as t
        from generate_series(0, 3000) i
        union all select '2026-11-21 21:00:56.999999+00'
        union all select '2026-11-21 23:59:59.9995+00'`;
      for (const { t } of rows) expect(isoTimestamp(t)).toBe(new Date(t).toISOString());
    } finally {
      await db.drop();
    }
  });

  it("falls back to Date for forms other than UTC", () => {
    for (const t of ["2026-11-21 23:00:56.123456+02", "2026-11-21 21:00:56+05:30", "2026-11-21T21:00:56.123Z"]) {
      expect(isoTimestamp(t)).toBe(new Date(t).toISOString());
    }
    const d = new Date();
    expect(isoTimestamp(d)).toBe(d.toISOString());
  });
});

/*
 * The list pass reads the live list as COPY's text, a line per row: every room must come out
 * as exactly the JSON the read path caches (JSON.stringify of its rows), whatever the text
 * holds, and the connection must be usable after it, however the COPY ended.
 */
describe("streamLiveRoomJson", () => {
  const withDb = async (work: (db: TestDatabase, handle: ReturnType<typeof createDb>) => Promise<void>) => {
    const db = await createTestDatabase();
    // One connection: a connection the COPY left unusable would hang the next query.
    const handle = createDb(db.url, { max: 1 });
    try {
      await work(db, handle);
    } finally {
      await handle.close();
      await db.drop();
    }
  };
  /** `n` rooms, each with a description of `length` characters. */
  const seedRooms = (db: TestDatabase, n: number, length: number) =>
    db.sql`insert into rooms (name, description, owner_id, owner_name)
      select 'Room ' || i, repeat('d', ${length}), 'o', 'O' from generate_series(1, ${n}) i`;
  const stream = async (handle: ReturnType<typeof createDb>, batchSize: number) => {
    const batches: LiveRoomJson[][] = [];
    const version = await streamLiveRoomJson(handle.db, batchSize, async (rooms, _, bytes) => {
      batches.push(rooms);
      // Each batch's bytes are its rooms' JSON, a comma between, in UTF-8.
      expect(bytes.equals(Buffer.from(rooms.map((r) => r.json).join(",")))).toBe(true);
      // The socket fills while a batch is handled, as it does while the reconciler waits on Redis.
      await new Promise((resolve) => setTimeout(resolve, 5));
    });
    return { version, batches, rooms: batches.flat() };
  };

  it("gives each room the read path's JSON, for text COPY escapes (tabs, newlines, backslashes, \\N) and multi-byte text", async () => {
    await withDb(async (db, handle) => {
      // Names and descriptions hold no control characters (a CHECK); the owner's fields may.
      const names = ["back\\slash", "\\N", "\\", "quote \" and \\t", "日本語 🎉 ü", "x".repeat(64), "a\\nb", "last"];
      for (const [i, name] of names.entries()) {
        const owner = ["tab\there", "new\nline", "cr\rret", "ctl \b\f\v\u0001\u001f", "\\N", "plain", "🎉\t", "\\\t\\"][i]!;
        await db.sql`insert into rooms (name, description, owner_id, owner_name) values (${name}, ${"d \\ " + name}, ${owner}, ${owner + i})`;
      }
      const { version, rooms, batches } = await stream(handle, 3);
      const read = await listLiveRoomsWithVersion(handle.db);
      expect(version).toBe(read.version);
      expect(batches.map((b) => b.length)).toEqual([3, 3, 2]);
      expect(rooms.map((r) => r.json)).toEqual(read.rooms.map((r) => JSON.stringify(r)));
      expect(rooms.map((r) => r.id)).toEqual(read.rooms.map((r) => r.id));
      expect(rooms.map((r) => r.activityAt)).toEqual(read.activity.map((a) => a.at));
      expect(rooms.map((r) => r.version)).toEqual(read.rooms.map((r) => r.version));
      expect(rooms.map((r) => r.bytes)).toEqual(rooms.map((r) => Buffer.byteLength(r.json)));
      expect(rooms.map((r) => r.createdMs)).toEqual(read.rooms.map((r) => r.createdAt.getTime()));
    });
  });

  it("fails the COPY when the list thread dies mid-list, and the next list pass starts another", async () => {
    await withDb(async (db, handle) => {
      await seedRooms(db, 20_000, 280);
      let batches = 0;
      const killed = streamLiveRoomJson(handle.db, 100, async () => {
        if (++batches === 2) await listThread.stop();
      });
      await expect(killed).rejects.toThrow("the list thread exited");
      // What the thread had already handed back is handed on; the list never completes.
      expect(batches).toBeGreaterThanOrEqual(2);
      expect(batches).toBeLessThan(200);
      // The connection is usable (the rest of the COPY was read and dropped), and a new thread parses the list.
      expect((await handle.sql`select 1 as one`)[0]).toEqual({ one: 1 });
      const { rooms } = await stream(handle, 5000);
      expect(rooms).toHaveLength(20000);
    });
  });

  it("leaves its connection usable after a list that fills the stream's buffer, and after a batch that fails", async () => {
    await withDb(async (db, handle) => {
      await seedRooms(db, 3_000, 200);
      for (const batchSize of [1000, 7, 5000]) {
        const { rooms } = await stream(handle, batchSize);
        expect(rooms).toHaveLength(3000);
        // The pool's one connection answers the next query.
        expect((await handle.sql`select 1 as one`)[0]).toEqual({ one: 1 });
      }
      let seen = 0;
      const failing = streamLiveRoomJson(handle.db, 100, async () => {
        seen++;
        if (seen === 2) throw new Error("batch failed");
      });
      await expect(failing).rejects.toThrow("batch failed");
      expect(seen).toBe(2);
      expect((await handle.sql`select 1 as one`)[0]).toEqual({ one: 1 });
    });
  });

  it("leaves the pool working when the COPY's connection drops mid-list", async () => {
    await withDb(async (db, handle) => {
      // More than the sockets' buffers hold (~6 MB), so the COPY is still sending when it drops.
      await seedRooms(db, 20_000, 280);
      let batches = 0;
      const dropped = streamLiveRoomJson(handle.db, 100, async () => {
        if (++batches !== 2) return;
        // As a Postgres restart or a cut network would: the server ends the COPY's connection.
        const ended = await db.sql<{ ended: boolean }[]>`
          select pg_terminate_backend(pid) as ended from pg_stat_activity
          where datname = current_database() and query like 'copy (%' and pid <> pg_backend_pid()`;
        expect(ended).toEqual([{ ended: true }]);
      });
      await expect(dropped).rejects.toThrow(/CONNECTION_CLOSED|terminating connection/);
      // The pool's one connection is replaced, not handed back dead: postgres.js may fail a
      // query or two on it while it learns of the drop, then answers for good.
      const answers: string[] = [];
      for (let i = 0; i < 5 && answers.at(-1) !== "ok"; i++) {
        answers.push(await handle.sql`select 1 as one`.then(() => "ok", (e: Error) => e.message));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(answers.at(-1)).toBe("ok");
      const { rooms } = await stream(handle, 5000);
      expect(rooms).toHaveLength(20000);
    });
  });

  it("returns the table's largest version for an empty list", async () => {
    await withDb(async (db, handle) => {
      await db.sql`insert into rooms (name, owner_id, owner_name, deleted_at) values ('Gone', 'o', 'O', now())`;
      const [row] = await db.sql<{ max: string }[]>`select max(version)::text as max from rooms`;
      const { version, rooms } = await stream(handle, 10);
      expect(rooms).toEqual([]);
      expect(version).toBe(Number(row!.max));
    });
  });
});

describe("LiveListParser", () => {
  // Two rooms as COPY prints them: a multi-byte name, an escaped tab in the owner's name.
  const copy = Buffer.from(
    [
      "0b7e9f2c-1d4a-4e8b-9c3d-2f1a0b9c8d7e\t日本語 🎉\td\to\\tx\tO\t7\t2026-12-07 13:25:32.561234+00\t2026-12-07 13:25:33.5+00\t1765113932561\t9",
      "1c8f0a3d-2e5b-4f9c-8d4e-3a2b1c0d9e8f\tplain\t\t\\\\N\tO\t3\t2026-12-07 13:25:31+00\t2026-12-07 13:25:31+00\t1765113931000\t9",
      "",
    ].join("\n"),
  );
  const parse = (chunks: Buffer[], batchSize: number) => {
    const parser = new LiveListParser(batchSize);
    const batches = chunks.flatMap((c) => parser.push(c));
    const { last, listVersion } = parser.end();
    return { batches: last ? [...batches, last] : batches, listVersion };
  };

  const text = (b: PackedRooms) => Buffer.from(b.bytes).toString();

  it("gives the same batches however the text is cut, inside a character or a line", () => {
    const whole = parse([copy], 1);
    expect(whole.listVersion).toBe(9);
    expect(whole.batches.map(text)).toEqual([
      '{"id":"0b7e9f2c-1d4a-4e8b-9c3d-2f1a0b9c8d7e","name":"日本語 🎉","description":"d","ownerId":"o\\tx","ownerName":"O","version":7,"createdAt":"2026-12-07T13:25:32.561Z","updatedAt":"2026-12-07T13:25:33.500Z"}',
      '{"id":"1c8f0a3d-2e5b-4f9c-8d4e-3a2b1c0d9e8f","name":"plain","description":"","ownerId":"\\\\N","ownerName":"O","version":3,"createdAt":"2026-12-07T13:25:31.000Z","updatedAt":"2026-12-07T13:25:31.000Z"}',
    ]);
    expect(whole.batches.map((b) => b.ascii)).toEqual([false, true]);
    expect(whole.batches.map((b) => [...b.versions, ...b.createdMs, ...b.activity])).toEqual([
      [7, Date.parse("2026-12-07T13:25:32.561Z"), 1765113932561],
      [3, Date.parse("2026-12-07T13:25:31.000Z"), 1765113931000],
    ]);
    for (let cut = 1; cut < copy.length; cut++) {
      expect(parse([copy.subarray(0, cut), copy.subarray(cut)], 1)).toEqual(whole);
    }
    const [both] = parse([copy], 2).batches;
    expect(text(both!)).toBe(whole.batches.map(text).join(","));
    // Each room's start, and where a next one would start (past a comma).
    expect([...both!.starts]).toEqual([0, whole.batches[0]!.bytes.length + 1, both!.bytes.length + 1]);
    expect(both!.ascii).toBe(false);
  });

  it("grows a batch's bytes past their first size", () => {
    const line = (i: number) => `${String(i).padStart(8, "0")}-1d4a-4e8b-9c3d-2f1a0b9c8d7e\t${"é".repeat(300)}\t${"d".repeat(600)}\to\tO\t1\t2026-12-07 13:25:31+00\t2026-12-07 13:25:31+00\t1\t1\n`;
    const { batches } = parse([Buffer.from(Array.from({ length: 5 }, (_, i) => line(i)).join(""))], 5);
    const rooms = JSON.parse(`[${text(batches[0]!)}]`) as { id: string; name: string }[];
    expect(rooms.map((r) => r.id.slice(0, 8))).toEqual(["00000000", "00000001", "00000002", "00000003", "00000004"]);
    expect(rooms.every((r) => r.name === "é".repeat(300))).toBe(true);
  });

  it("refuses a COPY that ends inside a row", () => {
    const parser = new LiveListParser(10);
    parser.push(copy.subarray(0, copy.length - 5));
    expect(() => parser.end()).toThrow("ended inside a row");
  });
});

describe("copyFields", () => {
  it("splits on tabs and undoes COPY's escapes", () => {
    expect(copyFields("a\tb\\tc\\\\d\t\\n\\r\\b\\f\\v")).toEqual(["a", "b\tc\\d", "\n\r\b\f\v"]);
  });
});
