// Instructions this CPU decodes but does not execute stop with an `unsupported` reason that
// names them — after the architectural checks that come first on real hardware, so a guest
// that relies on them (lazy FPU switching through CR0.TS, CR4.OSFXSR=0) still sees #NM / #UD:
//   x87 (D8-DF): CR0.EM=1 or CR0.TS=1 → #NM (SDM Vol. 3A 2.5 and 13.x), else unsupported.
//   SSE floating point: CR0.EM=1 or CR4.OSFXSR=0 → #UD, CR0.TS=1 → #NM, else unsupported.
//   3DNow! (0F 0F, FEMMS): #UD — Intel processors do not implement it.
//   VEX/EVEX/XOP: unsupported (whether they #UD depends on the CPUID the layer above reports).
import { R_FORM, R_OP, R_OPCODE } from "../decoder/record.js";
import { raiseUD, UnsupportedError, Vector, X86Exception } from "../exec/exception.js";
import { CR0_EM, CR0_TS } from "../exec/state.js";
import { FL_SSE, FORMS, MNEMONICS } from "../isa/forms.js";
import type { Handler } from "./block.js";
import { checkSse } from "./h-sse.js";

const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");

/** Handler for a record the decoder marked ST_UNSUPPORTED. */
export function unsupportedEncoding(d: Int32Array, o: number): Handler {
  const opcode = d[o + R_OPCODE];
  const op = d[o + R_OP];
  if (op >= 0) {
    // A table row flagged `unsup` (SHA, UMWAIT, SVM, ...): named by its mnemonic.
    const name = MNEMONICS[op];
    if (name === "FEMMS") return () => raiseUD("3DNow! is not implemented by Intel processors");
    const what = `instruction ${name} is not executed by this CPU`;
    const sse = (FORMS[d[o + R_FORM]]?.flags ?? 0) & FL_SSE;
    return (c, d, o) => {
      if (sse) checkSse(c, d, o);
      throw new UnsupportedError(what);
    };
  }
  if (opcode >= 0xd8 && opcode <= 0xdf) {
    const what = `x87 instruction (opcode ${hex(opcode)}) is not executed by this CPU`;
    return (c) => {
      if (c.st.cr0 & (CR0_EM | CR0_TS))
        throw new X86Exception(Vector.NM, -1, "x87 with CR0.EM=1 or CR0.TS=1");
      throw new UnsupportedError(what);
    };
  }
  if (opcode === 0x10f) return () => raiseUD("3DNow! is not implemented by Intel processors");
  const kind = opcode === 0x62 ? "EVEX" : opcode === 0x8f ? "XOP" : "VEX";
  const what = `${kind}-encoded instruction (AVX and later) is not executed by this CPU`;
  return () => {
    throw new UnsupportedError(what);
  };
}

/** Mnemonics of SSE forms (table flag `sse`) — for registering the floating-point ones this CPU does not run. */
export const SSE_MNEMONICS: ReadonlySet<string> = new Set(
  FORMS.filter((f) => (f.flags & FL_SSE) !== 0).map((f) => MNEMONICS[f.op]),
);

/** An SSE instruction that is not executed: the SSE availability checks, then an unsupported stop naming it. */
export function unsupportedSse(name: string): Handler {
  const what = `SSE instruction ${name} is not executed by this CPU`;
  return (c, d, o) => {
    checkSse(c, d, o);
    throw new UnsupportedError(what);
  };
}
