// Checks that come before a handler owned elsewhere, in the SDM's priority order (wrapped at
// registration in dispatch.ts, so the wrapped handler stays untouched).
import { raiseUD, Vector, X86Exception } from "../exec/exception.js";
import { CR0_MP, CR0_TS, CR4_OSXSAVE } from "../exec/state.js";
import type { Handler } from "./block.js";

/** XSETBV: #UD with CR4.OSXSAVE=0 comes before the CPL check's #GP(0) (SDM XSETBV "Protected Mode Exceptions"). */
export function guardXsetbv(inner: Handler): Handler {
  return (c, d, o) => {
    if (!(c.st.cr4 & CR4_OSXSAVE)) raiseUD("XSETBV with CR4.OSXSAVE=0");
    inner(c, d, o);
  };
}

/** FWAIT/WAIT: #NM when CR0.MP and CR0.TS are both set (SDM WAIT/FWAIT); otherwise nothing to wait for (no x87 state runs). */
export const hFwait: Handler = (c) => {
  if ((c.st.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS))
    throw new X86Exception(Vector.NM, -1, "FWAIT with CR0.MP=1 and CR0.TS=1");
};
