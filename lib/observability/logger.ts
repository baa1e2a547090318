import pino from "pino";
import { env } from "../env";

const g = globalThis as unknown as { __lobbyLogger?: pino.Logger };

/** The process logger: JSON lines in production, readable lines in development. */
export function logger(): pino.Logger {
  if (!g.__lobbyLogger) {
    const { logLevel, nodeEnv } = env();
    g.__lobbyLogger = pino({
      level: logLevel,
      base: { service: process.env.LOBBY_SERVICE ?? "web" },
      ...(nodeEnv === "development"
        ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } }
        : {}),
    });
  }
  return g.__lobbyLogger;
}
