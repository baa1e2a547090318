import { z } from "zod";

/** What embedded-postgres.ts and postgres-host.ts say to each other (argv in, one IPC message out). */
export const hostConfigSchema = z.strictObject({
  /** Absolute; created if missing. */
  dataDir: z.string().min(1),
  /** The address Postgres listens on (never a Unix socket: none is opened). */
  listen: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1),
  /** Empty: `trust` for connections from this machine, as DATABASE_URL has no password. */
  password: z.string(),
});
export type HostConfig = z.infer<typeof hostConfigSchema>;

export const hostMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready"), dataDir: z.string(), note: z.string().optional(), pid: z.number().int() }),
  z.object({ type: z.literal("failed"), message: z.string() }),
]);
export type HostMessage = z.infer<typeof hostMessageSchema>;
