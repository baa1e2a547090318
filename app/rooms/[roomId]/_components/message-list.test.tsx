import { describe, expect, it } from "vitest";
import { formatClock } from "@/app/_components/format";
import { startsGroup, type ShownMessage } from "./message-list";

const at = (minute: number) => new Date(Date.UTC(2026, 10, 21, 20, minute));
const msg = (id: string, authorId: string, minute: number): ShownMessage => ({
  id: `00000000-0000-4000-8000-00000000000${id}`,
  authorId,
  authorName: authorId === "a" ? "Ada" : "Bo",
  body: `Body ${id}`,
  createdAt: at(minute),
});

/* The rendered list (names once per group, tools on hover and focus, the no-JavaScript link) is driven in e2e/message-groups.spec.ts. */
describe("message groups", () => {
  const list = [msg("1", "a", 0), msg("2", "a", 1), msg("3", "a", 5), msg("4", "b", 6), msg("5", "a", 7), msg("6", "a", 13)];

  it("a group is one author's run, each message within 5 minutes of the one before", () => {
    expect(list.map((m, i) => startsGroup(m, list[i - 1]))).toEqual([true, false, false, true, true, true]);
  });

  it("a grouped message's clock is short enough for the avatar's column", () => {
    expect(formatClock(at(59))).toBe("8:59");
  });
});
