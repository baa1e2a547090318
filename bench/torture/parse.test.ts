import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { AppRouterContext } from "next/dist/shared/lib/app-router-context.shared-runtime";
import { MessageList } from "@/app/rooms/[roomId]/_components/message-list";
import { RoomSelector } from "@/app/_components/room-selector";
import { sampleRooms } from "@/lib/rooms/sample-rooms";
import { parseResponse } from "./parse";

/*
 * The checker reads pages as a browser without JavaScript would. These feed it the markup
 * of the components that render those pages, so a change of markup that would blind it
 * (every room "missing", every token unseen) fails here rather than as a torture run full
 * of false stale reads.
 */
const page = (inner: string) => `<!DOCTYPE html><html><body>${inner}</body></html>`;

describe("the torture checker's page parser, on the real components' markup", () => {
  it("home: every room card's id and name, names unescaped", () => {
    const rooms = sampleRooms(3).map((r, i) => (i === 1 ? { ...r, name: `a & <b> "q" tok-x1-${i}` } : r));
    const markup = renderToStaticMarkup(createElement(RoomSelector, { rooms, count: rooms.length }));
    const parsed = parseResponse("home", 200, page(markup));
    expect(parsed.problem).toBeUndefined();
    expect(parsed.obs).toEqual({ kind: "list", rooms: Object.fromEntries(rooms.map((r) => [r.id, r.name])) });
  });

  it("room page: the title and every message's tokens, edited or not", () => {
    const at = new Date(Date.UTC(2026, 10, 21, 20, 0));
    const messages = [
      { id: "00000000-0000-4000-8000-000000000001", authorId: "a", authorName: "Ada", body: "hi tok-w1-1", createdAt: at },
      { id: "00000000-0000-4000-8000-000000000002", authorId: "a", authorName: "Ada", body: "<b>x</b> tok-w1-2", createdAt: at, editedAt: at },
    ];
    // The list's per-message controls read the router (never called while rendering).
    const router = { push() {}, replace() {}, refresh() {}, back() {}, forward() {}, prefetch() {}, bfcacheId: "0" };
    const list = renderToStaticMarkup(
      createElement(AppRouterContext.Provider, { value: router }, createElement(MessageList, { roomId: "r", messages, bodyMax: 2000 })),
    );
    const parsed = parseResponse("room-page", 200, page(`<h1 id="room-title" dir="auto">Lounge &amp; co</h1>${list}`));
    expect(parsed.obs).toEqual({ kind: "room", found: true, name: "Lounge & co", tokens: ["tok-w1-1", "tok-w1-2"] });
  });
});
