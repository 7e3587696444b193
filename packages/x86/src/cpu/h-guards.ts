// Checks that come before a handler owned elsewhere, in the SDM's priority order (wrapped at
// registration in dispatch.ts, so the wrapped handler stays untouched).
import { raiseUD } from "../exec/exception.js";
import { CR4_OSXSAVE } from "../exec/state.js";
import type { Handler } from "./block.js";

/** XSETBV: #UD with CR4.OSXSAVE=0 comes before the CPL check's #GP(0) (SDM XSETBV "Protected Mode Exceptions"). */
export function guardXsetbv(inner: Handler): Handler {
  return (c, d, o) => {
    if (!(c.st.cr4 & CR4_OSXSAVE)) raiseUD("XSETBV with CR4.OSXSAVE=0");
    inner(c, d, o);
  };
}
