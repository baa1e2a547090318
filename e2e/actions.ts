import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The server actions of the build under test, by exported name, from Next's own manifest
 * (`.next/server/server-reference-manifest.json`): what a hand-made request needs to call
 * one (`Next-Action: <id>`), as an attacker or a fuzzer would.
 */
const manifestSchema = z.object({
  node: z.record(z.string(), z.object({ filename: z.string(), exportedName: z.string(), workers: z.record(z.string(), z.unknown()) })),
});

export interface ServerAction {
  id: string;
  name: string;
  file: string;
  /** Pages whose module holds the action (`app/page`, `app/rooms/[roomId]/page`, ...). */
  pages: string[];
}

export function serverActions(): ServerAction[] {
  const manifest = manifestSchema.parse(JSON.parse(readFileSync(".next/server/server-reference-manifest.json", "utf8")));
  return Object.entries(manifest.node).map(([id, a]) => ({ id, name: a.exportedName, file: a.filename, pages: Object.keys(a.workers) }));
}

export function serverAction(name: string): ServerAction {
  const found = serverActions().find((a) => a.name === name);
  if (!found) throw new Error(`no server action named ${name} in the build`);
  return found;
}

/** A multipart body as a browser posts a form bound to a server action without JavaScript. */
export function formPost(fields: Record<string, string>): { body: Buffer; contentType: string } {
  const boundary = `----lobbyform${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(
    ([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
  );
  return { body: Buffer.from(parts.join("") + `--${boundary}--\r\n`), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The hidden fields Next renders into a server-action form (`$ACTION_REF_n`, `$ACTION_n:0`, `$ACTION_KEY`), from the page's HTML. */
export function hiddenActionFields(html: string, actionId: string): Record<string, string> {
  const forms = html.split("<form").slice(1);
  const form = forms.find((f) => f.includes(actionId));
  if (!form) throw new Error(`no form for action ${actionId}`);
  const fields: Record<string, string> = {};
  for (const m of form.split("</form>")[0]!.matchAll(/<input type="hidden" name="([^"]+)"(?: value="([^"]*)")?\/>/g)) {
    fields[m[1]!] = (m[2] ?? "").replaceAll("&quot;", '"').replaceAll("&amp;", "&");
  }
  return fields;
}
