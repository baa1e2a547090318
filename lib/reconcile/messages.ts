import { CACHE_SCRIPTS, decodeEnvelope, encodeEnvelope, invalidateCall, populateCall } from "../cache/protocol";
import type { EvalCall } from "../cache/store";
import { newestMessagesWithVersion } from "../db/queries/messages";
import { liveMessageVersions } from "../db/queries/room-reconciliation";
import { cachedMessagePageSchema } from "../messages/validation";
import type { RunContext } from "./context";

/** The version at the head of an envelope (`{"v":<n>,`), without parsing the whole page. */
const HEAD = /^\{"v":(\d{1,16}),/;

/*
 * messages:{roomId} holds a room's newest page, versioned by rooms.message_version (bumped
 * in every send's and delete's transaction). A cached page is current when its "v" equals
 * that version and it validates. Drift (an invalidation lost while Redis was away, a fix
 * made in SQL, garbage) is repaired in the read path's protocol order: the key's value and
 * generation are read first, Postgres second, and the repair is the guarded POPULATE, so a
 * send or delete that commits during the run is never undone (its INVALIDATE bumps the
 * generation and the repair is refused). Keys of deleted or unknown rooms get the writers'
 * INVALIDATE. Rooms with no cached page are not drift: the cache is partial by design.
 */

/**
 * The cached messages:{roomId} among the keys a SCAN found (key-scan.ts: one SCAN serves the
 * room keys and the conversations), a batch of ids, each given once a run by the caller
 * (rooms.ts): compared, then repaired or removed.
 */
export async function checkMessageKeys(ctx: RunContext, ids: string[]): Promise<void> {
  const { store, keys, ttls, tally } = ctx;
  const cacheKeys = ids.map((id) => keys.messages(id));
  // Protocol order: values and generations before Postgres.
  const [values, generations] = await Promise.all([store.mget(cacheKeys), store.mget(cacheKeys.map(keys.gen))]);
  const present = ids.filter((_, i) => values[i] !== null && values[i] !== undefined);
  const versions = new Map((await liveMessageVersions(ctx.db, present)).map((r) => [r.id, r.messageVersion]));

  const stale: { id: string; generation: string | null }[] = [];
  const drops: EvalCall[] = [];
  ids.forEach((id, i) => {
    const raw = values[i];
    if (raw === null || raw === undefined) return; // expired since the SCAN
    tally.messagesScanned++;
    const version = versions.get(id);
    if (version === undefined) {
      tally.messagesRemoved++;
      drops.push(invalidateCall(keys, keys.messages(id)));
      return;
    }
    const head = HEAD.exec(raw);
    // Same version and valid: current. A version ahead of Postgres is corrupt as surely as garbage is.
    if (head && Number(head[1]) === version && decodeEnvelope(cachedMessagePageSchema, raw)?.data) return;
    tally.messagesRepaired++;
    stale.push({ id, generation: generations[i] ?? null });
  });
  if (ctx.dryRun || (stale.length === 0 && drops.length === 0)) return;

  // Drift is rare, so one statement per drifted room (the read path's own loader) is fine.
  const sets: EvalCall[] = [];
  for (const { id, generation } of stale) {
    const { version, ...page } = await newestMessagesWithVersion(ctx.db, { roomId: id });
    const key = keys.messages(id);
    // Deleted since the batch's read, or a generation that was missing (evicted, lost: it can never be matched).
    if (version === null || generation === null) drops.push(invalidateCall(keys, key));
    else sets.push(populateCall(keys, { key, generation, value: encodeEnvelope(version, page), version, ttlSeconds: ttls.messages, staleTtlSeconds: ttls.stale }));
  }
  await ctx.hooks.beforeRepair?.({ phase: "messages", keys: [...sets, ...drops].map((c) => c.keys[0]!) });
  const [setResults] = await Promise.all([store.evalMany(CACHE_SCRIPTS.populate, sets), store.evalMany(CACHE_SCRIPTS.invalidate, drops)]);
  // 0: a send or delete landed since the generation read; its invalidation stands.
  tally.refused += setResults.filter((r) => Number(r) === 0).length;
  // 2: the cached page claims a version Postgres never gave (corrupt): no populate will replace it, so drop it.
  const claimsNewer = sets.filter((_, j) => Number(setResults[j]) === 2).map((c) => invalidateCall(keys, c.keys[0]!));
  await store.evalMany(CACHE_SCRIPTS.invalidate, claimsNewer);
}
