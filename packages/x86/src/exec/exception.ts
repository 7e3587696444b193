// Architectural exception vectors (SDM Vol. 3A, Table 6-1) and the object semantic helpers
// throw to abandon the current instruction; the interpreter catches it and delivers it
// through the IDT (see deliver.ts).

export const Vector = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
  MC: 18,
  XM: 19,
  VE: 20,
  CP: 21,
} as const;

export type VectorName = keyof typeof Vector;

const NAMES: string[] = [];
for (const [name, v] of Object.entries(Vector)) NAMES[v] = name;

export function vectorName(v: number): string {
  return NAMES[v] !== undefined ? `#${NAMES[v]}` : `vector ${v}`;
}

/** Exceptions that push an error code (SDM Table 6-1); #CP too. */
export function hasErrorCode(v: number): boolean {
  return v === 8 || (v >= 10 && v <= 14) || v === 17 || v === 21;
}

/** Thrown by semantic helpers; errorCode is -1 when the exception has none. */
export class X86Exception extends Error {
  constructor(
    readonly vector: number,
    readonly errorCode = -1,
    detail = "",
  ) {
    super(
      `${vectorName(vector)}${errorCode >= 0 ? `(0x${errorCode.toString(16)})` : ""}${detail ? `: ${detail}` : ""}`,
    );
    this.name = "X86Exception";
  }
}

export function raiseDE(detail = "divide error"): never {
  throw new X86Exception(Vector.DE, -1, detail);
}

export function raiseGP(errorCode: number, detail = ""): never {
  throw new X86Exception(Vector.GP, errorCode, detail);
}

export function raiseUD(detail = ""): never {
  throw new X86Exception(Vector.UD, -1, detail);
}

/**
 * The guest did something this core does not implement yet (real-mode or VM86 delivery,
 * task gates, 16-bit gates). The run loop turns it into an "unsupported" stop: never
 * wrong execution.
 */
export class UnsupportedError extends Error {
  constructor(what: string) {
    super(`unsupported: ${what}`);
    this.name = "UnsupportedError";
  }
}

/** Exception classes for the double-fault rules (SDM Vol. 3A, Table 6-4). */
export const FaultClass = { Benign: 0, Contributory: 1, PageFault: 2 } as const;

export function faultClass(v: number): number {
  if (v === 0 || (v >= 10 && v <= 13) || v === 21) return FaultClass.Contributory;
  if (v === 14 || v === 20) return FaultClass.PageFault;
  return FaultClass.Benign;
}
