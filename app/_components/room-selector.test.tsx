import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ROOMS_PAGE_SIZE } from "@/lib/rooms/activity-order";
import { sampleRooms } from "@/lib/rooms/sample-rooms";
import { formatAgo } from "./format";
import { RoomCard } from "./room-card";
import { RoomSelector } from "./room-selector";
import { StatsPanel } from "./stats-panel";

/** The server's HTML of these components, as a visitor without JavaScript gets it. */
const html = (node: React.ReactNode) => renderToStaticMarkup(node);
const text = (markup: string) => markup.replace(/<[^>]+>/g, "").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");

describe("the room selector's link past the first page", () => {
  it("53 rooms: says it leads to the 3 after the first 50, and goes to page 2", () => {
    const rooms = sampleRooms(53);
    const markup = html(<RoomSelector rooms={rooms.slice(0, ROOMS_PAGE_SIZE)} count={53} />);
    const link = /<a class="button button-secondary" href="([^"]+)">(.*?)<\/a>/.exec(markup);
    expect(link?.[1]).toBe("/rooms?page=2");
    expect(text(link?.[2] ?? "")).toBe("3 more rooms, less recently active →");
  });

  it("every room shown: no link", () => {
    const rooms = sampleRooms(12);
    expect(html(<RoomSelector rooms={rooms} count={12} />)).not.toContain("/rooms?page=2");
  });
});

describe("a room card", () => {
  const [room] = sampleRooms(1);
  const at = new Date(Date.UTC(2026, 10, 21, 20, 59));

  it("shows the last message's author and body as text, never markup", () => {
    const markup = html(<RoomCard room={room!} preview={{ authorName: "Ada <i>L</i>", body: "<b>hi</b> & <script>x()</script>", createdAt: at }} />);
    expect(markup).not.toMatch(/<b>|<script>|<i>/);
    // Isolated too: an author's name or a body cannot reorder the text around it.
    expect(text(/<bdi class="room-preview-author">.*?<\/bdi>/.exec(markup)?.[0] ?? "")).toBe("Ada <i>L</i>");
    expect(text(/<p class="room-preview-body" dir="auto">.*?<\/p>/.exec(markup)?.[0] ?? "")).toBe("<b>hi</b> & <script>x()</script>");
    expect(text(markup)).not.toContain("No messages yet");
  });

  it("a room without messages says so; one whose previews could not be read claims neither", () => {
    const empty = text(html(<RoomCard room={room!} preview={null} />));
    expect(empty).toContain("No messages yet");
    expect(empty).toContain("Started by Sample Owner 0");
    const unknown = text(html(<RoomCard room={room!} />));
    expect(unknown).not.toContain("No messages yet");
    expect(unknown).toContain("Started by Sample Owner 0");
  });

  it("the server writes the time itself (a cached page must not say “2 min ago” an hour later)", () => {
    const markup = html(<RoomCard room={room!} preview={null} />);
    expect(markup).toContain(`dateTime="${room!.lastActivityAt.toISOString()}"`);
    expect(text(markup)).toContain("Jan 1, 12:00 AM");
  });

  it("unread: a “New messages” badge, outside the link's name", () => {
    const markup = html(<RoomCard room={room!} preview={null} unread />);
    expect(markup).toContain('data-unread="true"');
    expect(text(/<span class="badge badge-unread"[^>]*>.*?<\/span><\/span>/.exec(markup)?.[0] ?? "")).toBe("New messages");
    expect(text(/<a class="room-link"[^>]*>.*?<\/a>/.exec(markup)?.[0] ?? "")).toBe(room!.name);
  });
});

describe("“2 min ago”", () => {
  const t = Date.UTC(2026, 10, 21, 12, 0);
  it.each([
    [10_000, "just now"],
    [2 * 60_000, "2 min ago"],
    [3 * 3_600_000, "3 h ago"],
    [30 * 3_600_000, "yesterday"],
    [4 * 86_400_000, "4 days ago"],
    [20 * 86_400_000, "Nov 1, 2026"],
  ])("%d ms ago → %s", (ago, expected) => {
    expect(formatAgo(new Date(t - ago), t)).toBe(expected);
  });
});

describe("Lobby at a glance", () => {
  it("room numbers as given (the page passes the list's), message counts with when they were counted", () => {
    const markup = text(
      html(<StatsPanel rooms={53} activeRooms24h={7} messages={{ messages: 1234, messagesToday: 5, computedAt: "2026-11-21T20:59:00.000Z" }} />),
    );
    expect(markup).toContain("Rooms53");
    expect(markup).toContain("Active in 24 h7");
    expect(markup).toContain("Messages1,234");
    expect(markup).toContain("Messages as of 8:59 PM UTC, refreshed in the background");
  });
});
