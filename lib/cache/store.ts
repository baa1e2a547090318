/**
 * The small surface Lobby needs from Redis, implemented by the ioredis (TCP) and
 * @upstash/redis (REST) drivers. Keys arrive fully named (prefix included); values are
 * strings (JSON made by the caller), so both drivers store the same bytes.
 */
import type { ScanRange } from "./scan-ranges";

export interface CacheStore {
  readonly driver: "ioredis" | "upstash";
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<(string | null)[]>;
  /**
   * MGET with the values as their bytes, undecoded: for a caller that compares values with
   * bytes it has (the reconciler, every cached room every run), decoding each to text is
   * work and garbage for nothing.
   */
  mgetBuffers(keys: string[]): Promise<(Buffer | null)[]>;
  /** SET with optional expiry (seconds). */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  del(keys: string[]): Promise<number>;
  /** Runs a Lua script (EVALSHA, falling back to EVAL once per process). */
  eval(script: LuaScript, keys: string[], args: ScriptArg[]): Promise<unknown>;
  /**
   * Runs one script many times in one round trip (ioredis: a pipeline; upstash: parallel
   * requests, which the client auto-pipelines). Results in call order; the first failed
   * call rejects the whole batch. Each call names only its own keys, so on Redis Cluster
   * every call may land on a different slot.
   */
  evalMany(script: LuaScript, calls: EvalCall[]): Promise<unknown[]>;
  scan(cursor: string, match: string, count: number): Promise<[cursor: string, keys: string[]]>;
  /** One ZSCAN page of a sorted set: the next cursor ("0" at the end) and member, score, member, score... */
  zscan(key: string, cursor: string, count: number): Promise<[cursor: string, membersAndScores: string[]]>;
  /**
   * One full SCAN as ranges that may run at the same time (scan-ranges.ts), each scanned
   * with {@link scan} from its start until it ends. Absent: one range, "0" to "0" (REST:
   * the provider's cursor is not Redis's table position).
   */
  scanRanges?(): Promise<ScanRange[]>;
  ttl(key: string): Promise<number>;
  publish(channel: string, message: string): Promise<number>;
  ping(): Promise<void>;
  /**
   * While the store's first connection is still being made and takes more than a round trip
   * (a cluster: seed node, slot map, then each master), a promise of it; otherwise null. A
   * call's deadline starts once it settles, so a fresh instance does not count its own
   * start-up as Redis failing.
   */
  connecting?(): Promise<void> | null;
  /**
   * Resolves once every write this process has sent so far is held by a replica too, so a
   * failover cannot undo it (Redis Cluster: WAIT on each master). Rejects when a master
   * that has a replica does not confirm within `timeoutMs`. Absent where no replica can be
   * promoted (one node, REST).
   */
  durable?(timeoutMs: number): Promise<void>;
  /** Every node and whether it answers a PING (ioredis: one node, or each master and replica of a cluster). */
  nodes?(): Promise<RedisNodeState[]>;
  close(): Promise<void>;
}

/** A Redis node as the health check sees it. */
export interface RedisNodeState {
  address: string;
  role: "master" | "replica";
  up: boolean;
  latencyMs?: number;
  error?: string;
}

/** One invocation of a script in {@link CacheStore.evalMany}. */
export interface EvalCall {
  keys: string[];
  args: ScriptArg[];
}

/** A script argument; a Buffer is sent as its bytes (text already encoded by the caller). */
export type ScriptArg = string | number | Buffer;

export interface LuaScript {
  source: string;
  sha1: string;
}

import { createHash } from "node:crypto";

export function lua(source: string): LuaScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes("NOSCRIPT");
}
