import { describe, expect, it } from "vitest";
import { check, findings, PAGE_SIZE, tally, World } from "./check";
import type { Read, Write } from "./history";
import { parseResponse } from "./parse";
import { differences, lostWrites, type Truth } from "./verify";

/*
 * The torture run's judge, on hand-made histories: it must flag a read that missed an
 * acknowledged write, and must not flag a read that began before the acknowledgement, a
 * write still in flight, or a response that says it may be old.
 */

const ROOM = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";

let seq = 0;
type WriteInput<K extends Write["kind"]> = Omit<Extract<Write, { kind: K }>, "seq" | "writer" | "instance" | "end" | "status"> & { status?: number | null; end?: number };
const w = <K extends Write["kind"]>(fields: WriteInput<K>): Write => {
  const f = fields as { ack?: number; start: number };
  return { seq: ++seq, writer: "w1", instance: "A", status: f.ack !== undefined ? 200 : null, end: (f.ack ?? f.start) + 1, ...fields } as unknown as Write;
};
const read = (fields: Partial<Read> & Pick<Read, "endpoint" | "start">): Read => ({
  seq: ++seq,
  reader: "r1",
  instance: "B",
  end: fields.start + 5,
  status: 200,
  markedStale: false,
  ...fields,
});

const created = w<"create">({ kind: "create", roomId: ROOM, label: "w1r0", name: "t-w1r0-0", start: 0, ack: 10 });
const renamed1 = w<"rename">({ kind: "rename", roomId: ROOM, label: "w1r0", n: 1, start: 100, ack: 110 });
const renamed2 = w<"rename">({ kind: "rename", roomId: ROOM, label: "w1r0", n: 2, start: 200, ack: 210 });

describe("history check: no read that starts after an acknowledgement is served anything older", () => {
  it("a read that starts after a rename's ack and shows the older name is stale, with how far behind", () => {
    const r = read({ endpoint: "api-room", roomId: ROOM, start: 260, obs: { kind: "room", found: true, name: "t-w1r0-0" } });
    const [v] = check([created, renamed1, renamed2], [r]);
    expect(v!.status).toBe("stale");
    expect(v!.findings).toEqual([
      // behind the first rename it missed (acked at 110), by two versions
      expect.objectContaining({ kind: "name-behind", seenN: 0, expectedN: 2, behindMs: 150, missed: renamed1.seq }),
    ]);
  });

  it("a read that started before the ack may show the older name (not stale)", () => {
    const r = read({ endpoint: "api-room", roomId: ROOM, start: 205, end: 260, obs: { kind: "room", found: true, name: "t-w1r0-1" } });
    expect(check([created, renamed1, renamed2], [r])[0]!.status).toBe("ok");
  });

  it("a write in flight (sent, never acknowledged) may or may not be seen", () => {
    const inflight = w<"rename">({ kind: "rename", roomId: ROOM, label: "w1r0", n: 3, start: 300 });
    const older = read({ endpoint: "home", start: 400, obs: { kind: "list", rooms: { [ROOM]: "t-w1r0-2" } } });
    const newer = read({ endpoint: "home", start: 400, obs: { kind: "list", rooms: { [ROOM]: "t-w1r0-3" } } });
    expect(check([created, renamed1, renamed2, inflight], [older, newer]).map((v) => v.status)).toEqual(["ok", "ok"]);
  });

  it("a response marked stale is counted as marked stale, not as a stale read", () => {
    const r = read({ endpoint: "api-rooms", start: 260, markedStale: true, obs: { kind: "list", rooms: { [ROOM]: "t-w1r0-0" } } });
    const verdicts = check([created, renamed1, renamed2], [r]);
    expect(verdicts[0]!.status).toBe("marked-stale");
    const all = tally(verdicts, []).get("all|all")!;
    expect(all).toMatchObject({ stale: 0, markedStale: 1, markedStaleBehind: 1 });
  });

  it("a page marked stale in its HTML is parsed as marked stale", () => {
    const html = `<div class="stale-banner" role="status" data-cache-state="stale"></div><div class="room-selector"><a class="room-link" href="/rooms/${ROOM}">t-w1r0-0</a></div>`;
    const parsed = parseResponse("home", 200, html);
    expect(parsed.markedStale).toBe(true);
    expect(parsed.obs).toEqual({ kind: "list", rooms: { [ROOM]: "t-w1r0-0" } });
  });

  it("a created room missing from a list that started after its ack is stale; one whose delete is in flight is not", () => {
    const list = (start: number) => read({ endpoint: "home", start, obs: { kind: "list", rooms: {} } });
    expect(findings(new World([created]), list(50))).toEqual([expect.objectContaining({ kind: "room-missing", behindMs: 40 })]);
    expect(findings(new World([created]), list(5))).toEqual([]);
    const deleting = w<"delete-room">({ kind: "delete-room", roomId: ROOM, label: "w1r0", start: 45 });
    expect(findings(new World([created, deleting]), list(50))).toEqual([]);
  });

  it("a deleted room still listed, found by id, or its page still served after the delete's ack is stale", () => {
    const deleted = w<"delete-room">({ kind: "delete-room", roomId: ROOM, label: "w1r0", start: 500, ack: 520 });
    const world = new World([created, deleted]);
    expect(findings(world, read({ endpoint: "api-rooms", start: 530, obs: { kind: "list", rooms: { [ROOM]: "t-w1r0-0" } } }))).toEqual([
      expect.objectContaining({ kind: "deleted-room-present", behindMs: 10 }),
    ]);
    expect(findings(world, read({ endpoint: "room-page", roomId: ROOM, start: 530, obs: { kind: "room", found: true, name: "t-w1r0-0", tokens: [] } }))).toEqual([
      expect.objectContaining({ kind: "deleted-room-present" }),
    ]);
    expect(findings(world, read({ endpoint: "api-room", roomId: ROOM, start: 530, status: 404, obs: { kind: "room", found: false } }))).toEqual([]);
    // Started before the ack: either answer is right.
    expect(findings(world, read({ endpoint: "api-room", roomId: ROOM, start: 515, obs: { kind: "room", found: true, name: "t-w1r0-0" } }))).toEqual([]);
  });

  it("a 404 for a room created and acknowledged before the read is stale", () => {
    const r = read({ endpoint: "room-page", roomId: ROOM, start: 30, status: 404, obs: { kind: "room", found: false } });
    expect(check([created], [r])[0]!.findings).toEqual([expect.objectContaining({ kind: "room-missing", behindMs: 20 })]);
  });

  it("an acknowledged message missing from its room's newest page is stale, unless a delete of it is in flight or 50 newer ones may exist", () => {
    const sent = w<"send">({ kind: "send", roomId: ROOM, token: "tok-w1-1", messageId: "m1", start: 100, ack: 120 });
    const page = (start: number, tokens: string[]) => read({ endpoint: "api-messages", roomId: ROOM, start, obs: { kind: "room", found: true, tokens } });
    expect(findings(new World([created, sent]), page(150, []))).toEqual([expect.objectContaining({ kind: "message-missing", token: "tok-w1-1", behindMs: 30 })]);
    expect(findings(new World([created, sent]), page(110, []))).toEqual([]);
    const deleting = w<"delete-message">({ kind: "delete-message", roomId: ROOM, token: "tok-w1-1", messageId: "m1", start: 140 });
    expect(findings(new World([created, sent, deleting]), page(150, []))).toEqual([]);
    const newer = Array.from({ length: PAGE_SIZE }, (_, i) => w<"send">({ kind: "send", roomId: ROOM, token: `tok-w2-${i}`, messageId: `n${i}`, start: 130 + i, ack: 131 + i }));
    const shown = newer.map((n) => (n as { token: string }).token);
    expect(findings(new World([created, sent, ...newer]), page(400, shown))).toEqual([]);
    // One fewer newer message: the page had room for it.
    expect(findings(new World([created, sent, ...newer.slice(1)]), page(400, shown.slice(1)))).toEqual([expect.objectContaining({ kind: "message-missing" })]);
  });

  it("a message still shown after its delete's ack is stale", () => {
    const sent = w<"send">({ kind: "send", roomId: ROOM, token: "tok-w1-2", messageId: "m2", start: 100, ack: 120 });
    const deleted = w<"delete-message">({ kind: "delete-message", roomId: ROOM, token: "tok-w1-2", messageId: "m2", start: 200, ack: 230 });
    const r = read({ endpoint: "room-page", roomId: ROOM, start: 240, obs: { kind: "room", found: true, name: "t-w1r0-0", tokens: ["tok-w1-2"] } });
    expect(findings(new World([created, sent, deleted]), r)).toEqual([expect.objectContaining({ kind: "deleted-message-present", behindMs: 10 })]);
  });

  it("reads without an observation (5xx, no answer) are unchecked, and names no writer gives are not judged", () => {
    const failed = read({ endpoint: "api-rooms", start: 300, status: 500 });
    const oob = read({ endpoint: "api-room", roomId: ROOM, start: 300, obs: { kind: "room", found: true, name: "fixed-by-hand" } });
    expect(check([created, renamed1, renamed2], [failed, oob]).map((v) => v.status)).toEqual(["unchecked", "ok"]);
  });
});

describe("end of run: lost writes and convergence", () => {
  const truth: Truth = {
    rooms: new Map([
      [ROOM, { name: "t-w1r0-1", deleted: false }],
      [OTHER, { name: "t-w1e1-0", deleted: true }],
    ]),
    messages: new Map([["m1", { roomId: ROOM, deleted: false }]]),
    newestTokens: new Map([[ROOM, ["tok-w1-1"]]]),
  };

  it("an acknowledged write Postgres does not hold is lost", () => {
    const lost = lostWrites([created, renamed1, renamed2], truth);
    expect(lost).toEqual([expect.objectContaining({ write: renamed2 })]);
  });

  it("an endpoint differs until it shows what Postgres holds", () => {
    expect(differences("api-rooms", undefined, { kind: "list", rooms: { [ROOM]: "t-w1r0-1" } }, truth)).toEqual([]);
    expect(differences("api-rooms", undefined, { kind: "list", rooms: { [ROOM]: "t-w1r0-0", [OTHER]: "t-w1e1-0" } }, truth)).toHaveLength(2);
    expect(differences("room-page", ROOM, { kind: "room", found: true, name: "t-w1r0-1", tokens: [] }, truth)).toHaveLength(1);
    expect(differences("api-room", OTHER, { kind: "room", found: false }, truth)).toEqual([]);
  });
});
