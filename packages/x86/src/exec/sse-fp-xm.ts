// Unmasked SIMD floating-point exceptions (#XM, SDM Vol. 1 11.5): which MXCSR flags an
// instruction leaves when it faults. The destination is never written. When an unmasked
// pre-computation exception (IE, DE, ZE) is detected in any element, the computation is not
// carried out, so only pre-computation flags (of every element) are set; otherwise the flags of
// every element's computation (masked and unmasked) are set — except that an element whose OE or
// UE is unmasked reports PE only when its significand rounding was inexact (the handler gets the
// exponent-adjusted result, not infinity or a denormal). Checked against the host (xm.test.ts).
import { MXCSR_DE, MXCSR_IE, MXCSR_OE, MXCSR_PE, MXCSR_UE, MXCSR_ZE } from "./sse-fp.js";

const PRE = MXCSR_IE | MXCSR_DE | MXCSR_ZE;

/** The flags to OR into MXCSR before #XM, or -1 when no raised flag is unmasked. */
export function xmFlags(
  laneFlags: readonly number[],
  mxcsr: number,
  laneInexact: readonly boolean[],
): number {
  const masks = (mxcsr >>> 7) & 0x3f;
  let all = 0;
  let unmaskedPre = false;
  for (const f of laneFlags) {
    all |= f;
    if (f & PRE & ~masks) unmaskedPre = true;
  }
  if ((all & ~masks & 0x3f) === 0) return -1;
  if (!unmaskedPre) {
    let post = 0;
    laneFlags.forEach((f, i) => {
      post |= f & (MXCSR_OE | MXCSR_UE) & ~masks ? (f & ~MXCSR_PE) | (laneInexact[i] ? MXCSR_PE : 0) : f;
    });
    return post;
  }
  let pre = 0;
  for (const f of laneFlags) pre |= f & PRE;
  return pre;
}
