import type { CSSProperties } from "react";
import { hueOf, initials } from "./format";

/** Initials on a colour derived from the name; decorative, the name is always written next to it. */
export function Avatar({ name, size = "sm" }: { name: string; size?: "sm" | "md" }) {
  return (
    <span className={`avatar avatar-${size}`} style={{ "--hue": hueOf(name) } as CSSProperties} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
