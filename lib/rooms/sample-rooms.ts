import type { ActiveRoom } from "./activity-order";

/**
 * Deterministic rooms for the benchmark's baselines (a static page and a constant route of
 * the same markup and JSON as the real ones), made without a database.
 */
export function sampleRooms(n: number): ActiveRoom[] {
  const start = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    const at = new Date(start - i * 3_600_000);
    const hex = i.toString(16).padStart(12, "0");
    return {
      id: `00000000-0000-4000-8000-${hex}`,
      name: `Sample room ${i + 1}`,
      description: i % 3 === 0 ? "" : `A room for people who like sample topic number ${i + 1}: plans, tips and good company.`,
      ownerId: `sample_owner_${i % 7}`,
      ownerName: `Sample Owner ${i % 7}`,
      version: n - i,
      createdAt: at,
      updatedAt: at,
      lastActivityAt: at,
    };
  });
}

/**
 * Deterministic last messages for sample rooms (every fourth room has none), in the shape
 * the room list's previews take, so the benchmark's static page carries the same markup.
 */
export function samplePreviews(rooms: ActiveRoom[]): Record<string, { version: number; last: { authorName: string; body: string; createdAt: Date } | null }> {
  return Object.fromEntries(
    rooms.map((room, i) => [
      room.id,
      {
        version: rooms.length - i,
        last:
          i % 4 === 3
            ? null
            : { authorName: `Sample Author ${i % 5}`, body: `Sample message ${i + 1}: who is around this weekend? I was thinking of the usual place.`, createdAt: room.lastActivityAt },
      },
    ]),
  );
}
