// The decoded-instruction record: what the decoder produces and the executor consumes.

/**
 * A decoded instruction is a fixed-size record of RECORD_STRIDE int32 slots in an Int32Array
 * (so a whole page of decoded instructions is one typed array the executor can cache per
 * guest-physical page). Slot offsets, relative to the record's start:
 *
 * | slot | meaning |
 * |---|---|
 * | R_LEN | length in bytes (for #UD: bytes examined; for TRUNCATED: bytes available) |
 * | R_OP | operation id = index in MNEMONICS (`opName(id)`); -1 if not decoded |
 * | R_FORM | form id = index in FORMS (one table row; handlers may specialise per form); -1 if none |
 * | R_STATUS | ST_OK, ST_UD (undefined opcode, LOCK not allowed, bad register), ST_GP (longer than 15 bytes), ST_UNSUPPORTED (VEX/EVEX/XOP/x87/3DNow!: length known, not executed), ST_TRUNCATED (ran out of bytes) |
 * | R_OSZ | effective operand size in bytes: 2, 4 or 8 |
 * | R_ASZ | effective address size in bytes: 2, 4 or 8 |
 * | R_PFX | prefix bits PFX_* (LOCK, REP/REPE = F3, REPNE = F2, 66, 67, REX and its W/R/X/B); an F2/F3/66 used as a mandatory prefix is cleared |
 * | R_SEG | segment-override prefix (SEG_ES…SEG_GS), or -1 (the last one wins) |
 * | R_NOPS | number of operands (0-4) |
 * | R_OP0…R_OP3 | operands, packed: kind (bits 0-3, OK_*), register class (bits 4-7, CLS_*), register number (bits 8-15), size in bytes (bits 16-31). Use opKind/opClass/opReg/opSize. |
 * | R_MSEG | memory operand's segment: the override, else SS for rSP/rBP-based addresses, else DS |
 * | R_MBASE | base register 0-15, REG_RIP (16) for RIP-relative, -1 none |
 * | R_MINDEX | index register 0-15, -1 none |
 * | R_MSCALE | scale 1, 2, 4 or 8 |
 * | R_DISP_LO / R_DISP_HI | displacement sign-extended to 64 bits (moffs: the full 64-bit address) |
 * | R_IMM_LO / R_IMM_HI | the immediate, sign-extended to 64 bits for sign-extending forms (sb, iz, rel), zero-extended otherwise; relative branches: the displacement (target = address of next instruction + it, truncated to the operand size); far pointers: the offset |
 * | R_IMM2 | second immediate: ENTER's nesting level, a far pointer's selector |
 * | R_OPCODE | map << 8 | opcode byte (MAP_1B/0F/0F38/0F3A; 0x100+ for 0F) |
 * | R_MODRM | the ModRM byte (bits 0-7), or -1; with a SIB byte: SIB in bits 8-15 and bit 16 set |
 *
 * Slots that do not apply are left as they were (the decoder writes only what an instruction
 * has): R_MSEG…R_DISP_HI are valid when an operand is OK_MEM; R_IMM_LO/HI when one is OK_IMM,
 * OK_REL or OK_FAR; R_IMM2 when one is OK_IMM2 or OK_FAR; R_OP0+i for i < R_NOPS. After a
 * status other than ST_OK only R_LEN, R_STATUS, R_OP (-1), R_FORM (-1), R_NOPS (0), R_PFX,
 * R_SEG, R_OSZ, R_ASZ and R_OPCODE are meaningful.
 *
 * Only one memory operand exists per instruction (ModRM or moffs); string instructions use
 * OK_STR operands instead (register number 0 = seg:rSI with override, 1 = ES:rDI).
 */
export const RECORD_STRIDE = 24;
export const R_LEN = 0;
export const R_OP = 1;
export const R_FORM = 2;
export const R_STATUS = 3;
export const R_OSZ = 4;
export const R_ASZ = 5;
export const R_PFX = 6;
export const R_SEG = 7;
export const R_NOPS = 8;
export const R_OP0 = 9;
export const R_MSEG = 13;
export const R_MBASE = 14;
export const R_MINDEX = 15;
export const R_MSCALE = 16;
export const R_DISP_LO = 17;
export const R_DISP_HI = 18;
export const R_IMM_LO = 19;
export const R_IMM_HI = 20;
export const R_IMM2 = 21;
export const R_OPCODE = 22;
export const R_MODRM = 23;

/** Decode status. */
export const ST_OK = 0;
export const ST_UD = 1;
export const ST_GP = 2;
export const ST_UNSUPPORTED = 3;
export const ST_TRUNCATED = 4;
export const STATUS_NAMES = ["ok", "#UD", "#GP", "unsupported", "truncated"] as const;

/** Operand kinds (bits 0-3 of a packed operand). */
export const OK_NONE = 0;
export const OK_REG = 1;
export const OK_MEM = 2;
export const OK_IMM = 3;
export const OK_REL = 4;
export const OK_FAR = 5;
export const OK_IMM2 = 6;
export const OK_STR = 7;

/** Prefix bits of R_PFX. */
export const PFX_LOCK = 1 << 0;
export const PFX_REP = 1 << 1; // F3: REP / REPE
export const PFX_REPNE = 1 << 2; // F2
export const PFX_OPSIZE = 1 << 3; // 66
export const PFX_ADDRSIZE = 1 << 4; // 67
export const PFX_REX = 1 << 5;
export const PFX_REX_B = 1 << 6;
export const PFX_REX_X = 1 << 7;
export const PFX_REX_R = 1 << 8;
export const PFX_REX_W = 1 << 9;

export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;
export const REG_RIP = 16;

export const opKind = (packed: number) => packed & 15;
export const opClass = (packed: number) => (packed >>> 4) & 15;
export const opReg = (packed: number) => (packed >>> 8) & 255;
export const opSize = (packed: number) => packed >>> 16;
export const packOperand = (kind: number, cls: number, reg: number, size: number) =>
  kind | (cls << 4) | (reg << 8) | (size << 16);

/** Code modes: default operand/address size of the code segment. */
export type CodeMode = 16 | 32 | 64;
