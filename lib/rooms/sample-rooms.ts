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
