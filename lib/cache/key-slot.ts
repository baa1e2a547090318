import calculateSlot from "cluster-key-slot";

/*
 * Redis Cluster's hash slot of a key (CRC16 of the key, or of its `{hash tag}`, mod 16384),
 * from `cluster-key-slot`, the package ioredis itself routes with.
 */

/** The hash slot of `key` (0-16383). */
export function keySlot(key: string): number {
  return calculateSlot(key);
}

/** Keys grouped by slot, each with its positions in `keys` (a multi-key command must stay on one slot). */
export function groupBySlot(keys: string[]): { keys: string[]; at: number[] }[] {
  const groups = new Map<number, { keys: string[]; at: number[] }>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    let group = groups.get(slot);
    if (!group) groups.set(slot, (group = { keys: [], at: [] }));
    group.keys.push(key);
    group.at.push(i);
  });
  return [...groups.values()];
}
