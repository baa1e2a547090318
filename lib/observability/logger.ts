import pino from "pino";
import { env } from "../env";

const g = globalThis as unknown as { __lobbyLogger?: pino.Logger; __lobbyService?: string };

/** Names the process in every log line ("web" unless the worker says otherwise); call before the first log. */
export function setLogService(service: string): void {
  g.__lobbyService = service;
}

/** The process logger: JSON lines in production, readable lines in development. */
export function logger(): pino.Logger {
  if (!g.__lobbyLogger) {
    const { logLevel, nodeEnv } = env();
    g.__lobbyLogger = pino({
      level: logLevel,
      base: { service: g.__lobbyService ?? "web" },
      ...(nodeEnv === "development"
        ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } }
        : {}),
    });
  }
  return g.__lobbyLogger;
}
