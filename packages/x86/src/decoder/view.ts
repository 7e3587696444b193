// A readable view of one decoded record, for tests, the disassembler and debugging (not the hot path).
import { FORMS, type Form, opName } from "../isa/forms.js";
import { decodeInto } from "./decode.js";
import {
  type CodeMode,
  OK_MEM,
  opClass,
  opKind,
  opReg,
  opSize,
  R_ASZ,
  R_DISP_HI,
  R_DISP_LO,
  R_FORM,
  R_IMM_HI,
  R_IMM_LO,
  R_IMM2,
  R_LEN,
  R_MBASE,
  R_MINDEX,
  R_MSCALE,
  R_MSEG,
  R_NOPS,
  R_OP,
  R_OP0,
  R_OSZ,
  R_PFX,
  R_SEG,
  R_STATUS,
  RECORD_STRIDE,
  ST_OK,
} from "./record.js";

export interface DecodedOperand {
  /** OK_* */
  kind: number;
  /** CLS_* for registers */
  cls: number;
  reg: number;
  /** bytes */
  size: number;
}

/** One decoded instruction as plain fields (copied out of a record). */
export class Decoded {
  readonly record: Int32Array;
  constructor(record: Int32Array) {
    this.record = record;
  }
  get length(): number {
    return this.record[R_LEN];
  }
  get status(): number {
    return this.record[R_STATUS];
  }
  get ok(): boolean {
    return this.record[R_STATUS] === ST_OK;
  }
  get op(): number {
    return this.record[R_OP];
  }
  get mnemonic(): string {
    return opName(this.record[R_OP]);
  }
  get form(): Form | undefined {
    return FORMS[this.record[R_FORM]];
  }
  get operandSize(): number {
    return this.record[R_OSZ];
  }
  get addressSize(): number {
    return this.record[R_ASZ];
  }
  get prefixes(): number {
    return this.record[R_PFX];
  }
  get segmentOverride(): number {
    return this.record[R_SEG];
  }
  get operands(): DecodedOperand[] {
    const list: DecodedOperand[] = [];
    for (let i = 0; i < this.record[R_NOPS]; i++) {
      const v = this.record[R_OP0 + i];
      list.push({ kind: opKind(v), cls: opClass(v), reg: opReg(v), size: opSize(v) });
    }
    return list;
  }
  get hasMemory(): boolean {
    return this.operands.some((x) => x.kind === OK_MEM);
  }
  get memory() {
    const r = this.record;
    return {
      segment: r[R_MSEG],
      base: r[R_MBASE],
      index: r[R_MINDEX],
      scale: r[R_MSCALE],
      displacement: BigInt.asIntN(64, (BigInt(r[R_DISP_HI]) << 32n) | BigInt(r[R_DISP_LO] >>> 0)),
    };
  }
  /** The immediate (or branch displacement) as a signed 64-bit BigInt. */
  get immediate(): bigint {
    return BigInt.asIntN(64, (BigInt(this.record[R_IMM_HI]) << 32n) | BigInt(this.record[R_IMM_LO] >>> 0));
  }
  get immediate2(): number {
    return this.record[R_IMM2];
  }
}

/** Decodes one instruction at bytes[offset] into a fresh record (convenience; not for hot paths). */
export function decodeOne(bytes: Uint8Array, mode: CodeMode = 64, offset = 0): Decoded {
  const rec = new Int32Array(RECORD_STRIDE);
  decodeInto(bytes, offset, bytes.length, mode, rec, 0);
  return new Decoded(rec);
}
