import http from "node:http";
import https from "node:https";

/**
 * Node's `http.Server` 'request' event is the one place that sees a request's socket and
 * its `ServerResponse` before Next does: route handlers, server actions and proxy.ts get
 * neither. Hooks registered here run there, in registration order, for every HTTP(S)
 * server of this process (installed from instrumentation.ts), before Next's own listener.
 */
export type RequestHook = (req: http.IncomingMessage, res: http.ServerResponse) => void;

type Emit = (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean;

/* Per process, not per module copy: instrumentation and the route handlers are bundled apart. */
const KEY = Symbol.for("lobby.serverRequestHooks");
const g = globalThis as unknown as { [KEY]?: Map<string, RequestHook> };

/** Runs `hook` for every request this process's servers receive from now on; registering a `name` again replaces its hook. */
export function onServerRequest(name: string, hook: RequestHook): void {
  let hooks = g[KEY];
  if (!hooks) {
    const registered = (hooks = g[KEY] = new Map());
    for (const proto of [http.Server.prototype, https.Server.prototype] as unknown as { emit: Emit }[]) {
      const emit = proto.emit;
      proto.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]) {
        if (event === "request") for (const run of registered.values()) run(args[0] as http.IncomingMessage, args[1] as http.ServerResponse);
        return emit.call(this, event, ...args);
      };
    }
  }
  hooks.set(name, hook);
}
