// The instruction table: the single source of truth for the decoder, the assembler and the
// disassembler. One row per encoding form: "MNEMONIC | encoding | operands | flags".
//
// Encoding tokens (Intel SDM notation, simplified):
//   NP / 66 / F2 / F3   mandatory prefix (only before 0F maps); NP = none of 66/F2/F3
//   W0 / W1             REX.W must be 0 / 1
//   hex bytes           opcode (0F, 0F 38, 0F 3A escape + the opcode byte)
//   +r                  register number in the low 3 opcode bits (REX.B extends it)
//   /r                  ModRM, reg field is a register operand
//   /0 … /7             ModRM, reg field is an opcode extension
//   !XX                 ModRM must be exactly byte XX (e.g. 0F 01 !D0 = XGETBV)
//   mod3                ModRM.mod must be 3 (register form) for an operand-less form
// Operand kinds:
//   reg field     r8 r16 r32 r64 rv(16/32/64 by operand size) ry(32/64) sreg sregw(not CS) cr dr xmm mm
//   r/m field     rm8 rm16 rm32 rm64 rmv rmy rmz(16/32); memory only: m m8 m16 m32 m64 m128 m80 m512 mv
//                 mb(BOUND pair) mp(far pointer m16:16/32/64) mdt(descriptor-table m16&32/64); register only:
//                 R16 R32 R64 Rv Ry Rxmm Rmm; mixed: Rv/m16 (register of operand size, or m16)
//                 xmm/m128 xmm/m64 xmm/m32 xmm/m16 xmm/m8 mm/m64 mm/m32 r32/m8 r32/m16
//   fixed         AL CL DX AX rAX(AX/EAX/RAX) eAX(AX/EAX) 1 ES CS SS DS FS GS
//   immediates    ib(imm8, zero-extended) sb(imm8 sign-extended to operand size) iw iz(imm16/32,
//                 sign-extended to 64) iv(imm16/32/64) cb(rel8) cz(rel16/32) ptr(far ptr16:16/32)
//                 ob ov(moffs, address-size wide)
//   strings       Xb Xv (DS:rSI) Yb Yv (ES:rDI)
// Flags:
//   lock   LOCK allowed (with a memory destination)     rep    REP allowed (F3)
//   repe   REPE/REPNE allowed (F3/F2)                   o64    valid only in 64-bit mode
//   i64    invalid in 64-bit mode                        d64    operand size defaults to 64 in 64-bit mode
//   f64    operand size forced to 64 in 64-bit mode      o16 / o32 / o64s   operand size must be 16/32/64
//   nrexb  REX.B must be 0 (NOP/PAUSE at 90; with REX.B it is XCHG r8)
//   modreg ModRM.mod is ignored (always a register: MOV CR/DR)
//   a16 / a32 / a64   address size must be 16/32/64 (JCXZ/JECXZ/JRCXZ)
//   nomod3 / sse      (informational) SSE/MMX forms; sse forms ignore operand size
//   unsup  the decoder recognises the form (length, operands) but the executor does not run it

const ALU = ["ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"];
const CC = ["O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE", "LE", "G"];
const SHIFT = ["ROL", "ROR", "RCL", "RCR", "SHL", "SHR", "SAL", "SAR"];

const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");

function aluRows(): string[] {
  const rows: string[] = [];
  ALU.forEach((m, i) => {
    const b = i * 8;
    const lk = m === "CMP" ? "" : "lock";
    rows.push(
      `${m}|${hex(b)} /r|rm8,r8|${lk}`,
      `${m}|${hex(b + 1)} /r|rmv,rv|${lk}`,
      `${m}|${hex(b + 2)} /r|r8,rm8|`,
      `${m}|${hex(b + 3)} /r|rv,rmv|`,
      `${m}|${hex(b + 4)}|AL,ib|`,
      `${m}|${hex(b + 5)}|rAX,iz|`,
      `${m}|80 /${i}|rm8,ib|${lk}`,
      `${m}|81 /${i}|rmv,iz|${lk}`,
      `${m}|82 /${i}|rm8,ib|${lk} i64`,
      `${m}|83 /${i}|rmv,sb|${lk}`,
    );
  });
  return rows;
}

function ccRows(): string[] {
  const rows: string[] = [];
  CC.forEach((c, i) => {
    rows.push(`J${c}|${hex(0x70 + i)}|cb|f64`, `J${c}|0F ${hex(0x80 + i)}|cz|f64`);
    rows.push(`CMOV${c}|0F ${hex(0x40 + i)} /r|rv,rmv|`, `SET${c}|0F ${hex(0x90 + i)} /0|rm8|`);
  });
  // SETcc ignores ModRM.reg on real CPUs and in iced: /1…/7 decode as the same instruction.
  CC.forEach((c, i) => {
    for (let r = 1; r < 8; r++) rows.push(`SET${c}|0F ${hex(0x90 + i)} /${r}|rm8|`);
  });
  return rows;
}

function shiftRows(): string[] {
  const rows: string[] = [];
  SHIFT.forEach((m, i) => {
    rows.push(
      `${m}|D0 /${i}|rm8,1|`,
      `${m}|D1 /${i}|rmv,1|`,
      `${m}|D2 /${i}|rm8,CL|`,
      `${m}|D3 /${i}|rmv,CL|`,
      `${m}|C0 /${i}|rm8,ib|`,
      `${m}|C1 /${i}|rmv,ib|`,
    );
  });
  return rows;
}

/** A 0F-map instruction that exists as MMX (NP, mm) and SSE2 (66, xmm) forms. */
function mmxSse(m: string, op: string, extra = ""): string[] {
  return [`${m}|NP 0F ${op} /r|mm,mm/m64|sse ${extra}`, `${m}|66 0F ${op} /r|xmm,xmm/m128|sse ${extra}`];
}

/** An SSE arithmetic op with PS/PD/SS/SD forms. */
function ps4(base: string, op: string): string[] {
  return [
    `${base}PS|NP 0F ${op} /r|xmm,xmm/m128|sse`,
    `${base}PD|66 0F ${op} /r|xmm,xmm/m128|sse`,
    `${base}SS|F3 0F ${op} /r|xmm,xmm/m32|sse`,
    `${base}SD|F2 0F ${op} /r|xmm,xmm/m64|sse`,
  ];
}

/** The SSE rows: data movement and integer SIMD that gcc -O2 emits, plus the common FP ops. */
function sseRows(): string[] {
  const rows: string[] = [
    "MOVUPS|NP 0F 10 /r|xmm,xmm/m128|sse",
    "MOVUPD|66 0F 10 /r|xmm,xmm/m128|sse",
    "MOVSS|F3 0F 10 /r|xmm,xmm/m32|sse",
    "MOVSD|F2 0F 10 /r|xmm,xmm/m64|sse",
    "MOVUPS|NP 0F 11 /r|xmm/m128,xmm|sse",
    "MOVUPD|66 0F 11 /r|xmm/m128,xmm|sse",
    "MOVSS|F3 0F 11 /r|xmm/m32,xmm|sse",
    "MOVSD|F2 0F 11 /r|xmm/m64,xmm|sse",
    "MOVHLPS|NP 0F 12 /r|xmm,Rxmm|sse",
    "MOVLPS|NP 0F 12 /r|xmm,m64|sse",
    "MOVLPD|66 0F 12 /r|xmm,m64|sse",
    "MOVDDUP|F2 0F 12 /r|xmm,xmm/m64|sse",
    "MOVSLDUP|F3 0F 12 /r|xmm,xmm/m128|sse",
    "MOVLPS|NP 0F 13 /r|m64,xmm|sse",
    "MOVLPD|66 0F 13 /r|m64,xmm|sse",
    "UNPCKLPS|NP 0F 14 /r|xmm,xmm/m128|sse",
    "UNPCKLPD|66 0F 14 /r|xmm,xmm/m128|sse",
    "UNPCKHPS|NP 0F 15 /r|xmm,xmm/m128|sse",
    "UNPCKHPD|66 0F 15 /r|xmm,xmm/m128|sse",
    "MOVLHPS|NP 0F 16 /r|xmm,Rxmm|sse",
    "MOVHPS|NP 0F 16 /r|xmm,m64|sse",
    "MOVHPD|66 0F 16 /r|xmm,m64|sse",
    "MOVSHDUP|F3 0F 16 /r|xmm,xmm/m128|sse",
    "MOVHPS|NP 0F 17 /r|m64,xmm|sse",
    "MOVHPD|66 0F 17 /r|m64,xmm|sse",
    "MOVAPS|NP 0F 28 /r|xmm,xmm/m128|sse",
    "MOVAPD|66 0F 28 /r|xmm,xmm/m128|sse",
    "MOVAPS|NP 0F 29 /r|xmm/m128,xmm|sse",
    "MOVAPD|66 0F 29 /r|xmm/m128,xmm|sse",
    "CVTPI2PS|NP 0F 2A /r|xmm,mm/m64|sse",
    "CVTPI2PD|66 0F 2A /r|xmm,mm/m64|sse",
    "CVTSI2SS|F3 0F 2A /r|xmm,rmy|sse",
    "CVTSI2SD|F2 0F 2A /r|xmm,rmy|sse",
    "MOVNTPS|NP 0F 2B /r|m128,xmm|sse",
    "MOVNTPD|66 0F 2B /r|m128,xmm|sse",
    "CVTTPS2PI|NP 0F 2C /r|mm,xmm/m64|sse",
    "CVTTPD2PI|66 0F 2C /r|mm,xmm/m128|sse",
    "CVTTSS2SI|F3 0F 2C /r|ry,xmm/m32|sse",
    "CVTTSD2SI|F2 0F 2C /r|ry,xmm/m64|sse",
    "CVTPS2PI|NP 0F 2D /r|mm,xmm/m64|sse",
    "CVTPD2PI|66 0F 2D /r|mm,xmm/m128|sse",
    "CVTSS2SI|F3 0F 2D /r|ry,xmm/m32|sse",
    "CVTSD2SI|F2 0F 2D /r|ry,xmm/m64|sse",
    "UCOMISS|NP 0F 2E /r|xmm,xmm/m32|sse",
    "UCOMISD|66 0F 2E /r|xmm,xmm/m64|sse",
    "COMISS|NP 0F 2F /r|xmm,xmm/m32|sse",
    "COMISD|66 0F 2F /r|xmm,xmm/m64|sse",
    "MOVMSKPS|NP 0F 50 /r|ry,Rxmm|sse",
    "MOVMSKPD|66 0F 50 /r|ry,Rxmm|sse",
    ...ps4("SQRT", "51"),
    "RSQRTPS|NP 0F 52 /r|xmm,xmm/m128|sse",
    "RSQRTSS|F3 0F 52 /r|xmm,xmm/m32|sse",
    "RCPPS|NP 0F 53 /r|xmm,xmm/m128|sse",
    "RCPSS|F3 0F 53 /r|xmm,xmm/m32|sse",
    "ANDPS|NP 0F 54 /r|xmm,xmm/m128|sse",
    "ANDPD|66 0F 54 /r|xmm,xmm/m128|sse",
    "ANDNPS|NP 0F 55 /r|xmm,xmm/m128|sse",
    "ANDNPD|66 0F 55 /r|xmm,xmm/m128|sse",
    "ORPS|NP 0F 56 /r|xmm,xmm/m128|sse",
    "ORPD|66 0F 56 /r|xmm,xmm/m128|sse",
    "XORPS|NP 0F 57 /r|xmm,xmm/m128|sse",
    "XORPD|66 0F 57 /r|xmm,xmm/m128|sse",
    ...ps4("ADD", "58"),
    ...ps4("MUL", "59"),
    "CVTPS2PD|NP 0F 5A /r|xmm,xmm/m64|sse",
    "CVTPD2PS|66 0F 5A /r|xmm,xmm/m128|sse",
    "CVTSS2SD|F3 0F 5A /r|xmm,xmm/m32|sse",
    "CVTSD2SS|F2 0F 5A /r|xmm,xmm/m64|sse",
    "CVTDQ2PS|NP 0F 5B /r|xmm,xmm/m128|sse",
    "CVTPS2DQ|66 0F 5B /r|xmm,xmm/m128|sse",
    "CVTTPS2DQ|F3 0F 5B /r|xmm,xmm/m128|sse",
    ...ps4("SUB", "5C"),
    ...ps4("MIN", "5D"),
    ...ps4("DIV", "5E"),
    ...ps4("MAX", "5F"),
    "PUNPCKLBW|NP 0F 60 /r|mm,mm/m32|sse",
    "PUNPCKLBW|66 0F 60 /r|xmm,xmm/m128|sse",
    "PUNPCKLWD|NP 0F 61 /r|mm,mm/m32|sse",
    "PUNPCKLWD|66 0F 61 /r|xmm,xmm/m128|sse",
    "PUNPCKLDQ|NP 0F 62 /r|mm,mm/m32|sse",
    "PUNPCKLDQ|66 0F 62 /r|xmm,xmm/m128|sse",
    ...mmxSse("PACKSSWB", "63"),
    ...mmxSse("PCMPGTB", "64"),
    ...mmxSse("PCMPGTW", "65"),
    ...mmxSse("PCMPGTD", "66"),
    ...mmxSse("PACKUSWB", "67"),
    ...mmxSse("PUNPCKHBW", "68"),
    ...mmxSse("PUNPCKHWD", "69"),
    ...mmxSse("PUNPCKHDQ", "6A"),
    ...mmxSse("PACKSSDW", "6B"),
    "PUNPCKLQDQ|66 0F 6C /r|xmm,xmm/m128|sse",
    "PUNPCKHQDQ|66 0F 6D /r|xmm,xmm/m128|sse",
    "MOVD|NP W0 0F 6E /r|mm,rm32|sse",
    "MOVQ|NP W1 0F 6E /r|mm,rm64|sse o64",
    "MOVD|66 W0 0F 6E /r|xmm,rm32|sse",
    "MOVQ|NP 0F 6F /r|mm,mm/m64|sse",
    "MOVDQA|66 0F 6F /r|xmm,xmm/m128|sse",
    "MOVDQU|F3 0F 6F /r|xmm,xmm/m128|sse",
    "PSHUFW|NP 0F 70 /r|mm,mm/m64,ib|sse",
    "PSHUFD|66 0F 70 /r|xmm,xmm/m128,ib|sse",
    "PSHUFHW|F3 0F 70 /r|xmm,xmm/m128,ib|sse",
    "PSHUFLW|F2 0F 70 /r|xmm,xmm/m128,ib|sse",
    ...mmxSse("PCMPEQB", "74"),
    ...mmxSse("PCMPEQW", "75"),
    ...mmxSse("PCMPEQD", "76"),
    "EMMS|NP 0F 77||sse",
    "HADDPD|66 0F 7C /r|xmm,xmm/m128|sse",
    "HADDPS|F2 0F 7C /r|xmm,xmm/m128|sse",
    "HSUBPD|66 0F 7D /r|xmm,xmm/m128|sse",
    "HSUBPS|F2 0F 7D /r|xmm,xmm/m128|sse",
    "MOVD|NP W0 0F 7E /r|rm32,mm|sse",
    "MOVQ|NP W1 0F 7E /r|rm64,mm|sse o64",
    "MOVD|66 W0 0F 7E /r|rm32,xmm|sse",
    "MOVQ|66 W1 0F 7E /r|rm64,xmm|sse o64",
    "MOVQ|F3 0F 7E /r|xmm,xmm/m64|sse",
    // after F3 0F 7E: for a memory source GNU as prefers that one (equal length with REX)
    "MOVQ|66 W1 0F 6E /r|xmm,rm64|sse o64",
    "MOVQ|NP 0F 7F /r|mm/m64,mm|sse",
    "MOVDQA|66 0F 7F /r|xmm/m128,xmm|sse",
    "MOVDQU|F3 0F 7F /r|xmm/m128,xmm|sse",
    "CMPPS|NP 0F C2 /r|xmm,xmm/m128,ib|sse",
    "CMPPD|66 0F C2 /r|xmm,xmm/m128,ib|sse",
    "CMPSS|F3 0F C2 /r|xmm,xmm/m32,ib|sse",
    "CMPSD|F2 0F C2 /r|xmm,xmm/m64,ib|sse",
    "PINSRW|NP 0F C4 /r|mm,r32/m16,ib|sse",
    "PINSRW|66 0F C4 /r|xmm,r32/m16,ib|sse",
    "PEXTRW|NP 0F C5 /r|ry,Rmm,ib|sse",
    "PEXTRW|66 0F C5 /r|ry,Rxmm,ib|sse",
    "SHUFPS|NP 0F C6 /r|xmm,xmm/m128,ib|sse",
    "SHUFPD|66 0F C6 /r|xmm,xmm/m128,ib|sse",
    "ADDSUBPD|66 0F D0 /r|xmm,xmm/m128|sse",
    "ADDSUBPS|F2 0F D0 /r|xmm,xmm/m128|sse",
    ...mmxSse("PSRLW", "D1"),
    ...mmxSse("PSRLD", "D2"),
    ...mmxSse("PSRLQ", "D3"),
    ...mmxSse("PADDQ", "D4"),
    ...mmxSse("PMULLW", "D5"),
    "MOVQ|66 0F D6 /r|xmm/m64,xmm|sse",
    "MOVQ2DQ|F3 0F D6 /r|xmm,Rmm|sse",
    "MOVDQ2Q|F2 0F D6 /r|mm,Rxmm|sse",
    "PMOVMSKB|NP 0F D7 /r|ry,Rmm|sse",
    "PMOVMSKB|66 0F D7 /r|ry,Rxmm|sse",
    ...mmxSse("PSUBUSB", "D8"),
    ...mmxSse("PSUBUSW", "D9"),
    ...mmxSse("PMINUB", "DA"),
    ...mmxSse("PAND", "DB"),
    ...mmxSse("PADDUSB", "DC"),
    ...mmxSse("PADDUSW", "DD"),
    ...mmxSse("PMAXUB", "DE"),
    ...mmxSse("PANDN", "DF"),
    ...mmxSse("PAVGB", "E0"),
    ...mmxSse("PSRAW", "E1"),
    ...mmxSse("PSRAD", "E2"),
    ...mmxSse("PAVGW", "E3"),
    ...mmxSse("PMULHUW", "E4"),
    ...mmxSse("PMULHW", "E5"),
    "CVTTPD2DQ|66 0F E6 /r|xmm,xmm/m128|sse",
    "CVTDQ2PD|F3 0F E6 /r|xmm,xmm/m64|sse",
    "CVTPD2DQ|F2 0F E6 /r|xmm,xmm/m128|sse",
    "MOVNTQ|NP 0F E7 /r|m64,mm|sse",
    "MOVNTDQ|66 0F E7 /r|m128,xmm|sse",
    ...mmxSse("PSUBSB", "E8"),
    ...mmxSse("PSUBSW", "E9"),
    ...mmxSse("PMINSW", "EA"),
    ...mmxSse("POR", "EB"),
    ...mmxSse("PADDSB", "EC"),
    ...mmxSse("PADDSW", "ED"),
    ...mmxSse("PMAXSW", "EE"),
    ...mmxSse("PXOR", "EF"),
    "LDDQU|F2 0F F0 /r|xmm,m128|sse",
    ...mmxSse("PSLLW", "F1"),
    ...mmxSse("PSLLD", "F2"),
    ...mmxSse("PSLLQ", "F3"),
    ...mmxSse("PMULUDQ", "F4"),
    ...mmxSse("PMADDWD", "F5"),
    ...mmxSse("PSADBW", "F6"),
    "MASKMOVQ|NP 0F F7 /r|mm,Rmm|sse",
    "MASKMOVDQU|66 0F F7 /r|xmm,Rxmm|sse",
    ...mmxSse("PSUBB", "F8"),
    ...mmxSse("PSUBW", "F9"),
    ...mmxSse("PSUBD", "FA"),
    ...mmxSse("PSUBQ", "FB"),
    ...mmxSse("PADDB", "FC"),
    ...mmxSse("PADDW", "FD"),
    ...mmxSse("PADDD", "FE"),
  ];
  // Shift-by-immediate groups 0F 71/72/73 (register-only operand).
  const shImm: [string, string, number][] = [
    ["PSRLW", "71", 2],
    ["PSRAW", "71", 4],
    ["PSLLW", "71", 6],
    ["PSRLD", "72", 2],
    ["PSRAD", "72", 4],
    ["PSLLD", "72", 6],
    ["PSRLQ", "73", 2],
    ["PSLLQ", "73", 6],
  ];
  for (const [m, op, d] of shImm) {
    rows.push(`${m}|NP 0F ${op} /${d}|Rmm,ib|sse`, `${m}|66 0F ${op} /${d}|Rxmm,ib|sse`);
  }
  rows.push("PSRLDQ|66 0F 73 /3|Rxmm,ib|sse", "PSLLDQ|66 0F 73 /7|Rxmm,ib|sse");
  return rows;
}

/** SSSE3 / SSE4.1 / SSE4.2 rows in the 0F 38 and 0F 3A maps. */
function sse4Rows(): string[] {
  const ssse3: [string, string][] = [
    ["PSHUFB", "00"],
    ["PHADDW", "01"],
    ["PHADDD", "02"],
    ["PHADDSW", "03"],
    ["PMADDUBSW", "04"],
    ["PHSUBW", "05"],
    ["PHSUBD", "06"],
    ["PHSUBSW", "07"],
    ["PSIGNB", "08"],
    ["PSIGNW", "09"],
    ["PSIGND", "0A"],
    ["PMULHRSW", "0B"],
    ["PABSB", "1C"],
    ["PABSW", "1D"],
    ["PABSD", "1E"],
  ];
  const rows: string[] = [];
  for (const [m, op] of ssse3) {
    rows.push(`${m}|NP 0F 38 ${op} /r|mm,mm/m64|sse`, `${m}|66 0F 38 ${op} /r|xmm,xmm/m128|sse`);
  }
  const sse41: [string, string, string][] = [
    ["PBLENDVB", "10", "xmm/m128"],
    ["BLENDVPS", "14", "xmm/m128"],
    ["BLENDVPD", "15", "xmm/m128"],
    ["PTEST", "17", "xmm/m128"],
    ["PMOVSXBW", "20", "xmm/m64"],
    ["PMOVSXBD", "21", "xmm/m32"],
    ["PMOVSXBQ", "22", "xmm/m16"],
    ["PMOVSXWD", "23", "xmm/m64"],
    ["PMOVSXWQ", "24", "xmm/m32"],
    ["PMOVSXDQ", "25", "xmm/m64"],
    ["PMULDQ", "28", "xmm/m128"],
    ["PCMPEQQ", "29", "xmm/m128"],
    ["PACKUSDW", "2B", "xmm/m128"],
    ["PMOVZXBW", "30", "xmm/m64"],
    ["PMOVZXBD", "31", "xmm/m32"],
    ["PMOVZXBQ", "32", "xmm/m16"],
    ["PMOVZXWD", "33", "xmm/m64"],
    ["PMOVZXWQ", "34", "xmm/m32"],
    ["PMOVZXDQ", "35", "xmm/m64"],
    ["PCMPGTQ", "37", "xmm/m128"],
    ["PMINSB", "38", "xmm/m128"],
    ["PMINSD", "39", "xmm/m128"],
    ["PMINUW", "3A", "xmm/m128"],
    ["PMINUD", "3B", "xmm/m128"],
    ["PMAXSB", "3C", "xmm/m128"],
    ["PMAXSD", "3D", "xmm/m128"],
    ["PMAXUW", "3E", "xmm/m128"],
    ["PMAXUD", "3F", "xmm/m128"],
    ["PMULLD", "40", "xmm/m128"],
    ["PHMINPOSUW", "41", "xmm/m128"],
    ["AESIMC", "DB", "xmm/m128"],
    ["AESENC", "DC", "xmm/m128"],
    ["AESENCLAST", "DD", "xmm/m128"],
    ["AESDEC", "DE", "xmm/m128"],
    ["AESDECLAST", "DF", "xmm/m128"],
  ];
  for (const [m, op, src] of sse41) rows.push(`${m}|66 0F 38 ${op} /r|xmm,${src}|sse`);
  rows.push(
    "MOVNTDQA|66 0F 38 2A /r|xmm,m128|sse",
    "MOVBE|0F 38 F0 /r|rv,mv|",
    "MOVBE|0F 38 F1 /r|mv,rv|",
    "CRC32|F2 0F 38 F0 /r|ry,rm8|",
    "CRC32|F2 0F 38 F1 /r|ry,rmv|",
    "ADCX|66 0F 38 F6 /r|ry,rmy|sse",
    "ADOX|F3 0F 38 F6 /r|ry,rmy|sse",
  );
  const imm3a: [string, string, string, string][] = [
    ["ROUNDPS", "08", "xmm", "xmm/m128"],
    ["ROUNDPD", "09", "xmm", "xmm/m128"],
    ["ROUNDSS", "0A", "xmm", "xmm/m32"],
    ["ROUNDSD", "0B", "xmm", "xmm/m64"],
    ["BLENDPS", "0C", "xmm", "xmm/m128"],
    ["BLENDPD", "0D", "xmm", "xmm/m128"],
    ["PBLENDW", "0E", "xmm", "xmm/m128"],
    ["PEXTRB", "14", "r32/m8", "xmm"],
    ["PEXTRW", "15", "r32/m16", "xmm"],
    ["EXTRACTPS", "17", "rm32", "xmm"],
    ["PINSRB", "20", "xmm", "r32/m8"],
    ["INSERTPS", "21", "xmm", "xmm/m32"],
    ["DPPS", "40", "xmm", "xmm/m128"],
    ["DPPD", "41", "xmm", "xmm/m128"],
    ["MPSADBW", "42", "xmm", "xmm/m128"],
    ["PCLMULQDQ", "44", "xmm", "xmm/m128"],
    ["PCMPESTRM", "60", "xmm", "xmm/m128"],
    ["PCMPESTRI", "61", "xmm", "xmm/m128"],
    ["PCMPISTRM", "62", "xmm", "xmm/m128"],
    ["PCMPISTRI", "63", "xmm", "xmm/m128"],
    ["AESKEYGENASSIST", "DF", "xmm", "xmm/m128"],
  ];
  for (const [m, op, a, b] of imm3a) rows.push(`${m}|66 0F 3A ${op} /r|${a},${b},ib|sse`);
  rows.push(
    "PALIGNR|NP 0F 3A 0F /r|mm,mm/m64,ib|sse",
    "PALIGNR|66 0F 3A 0F /r|xmm,xmm/m128,ib|sse",
    "PEXTRD|66 W0 0F 3A 16 /r|rm32,xmm,ib|sse",
    "PEXTRQ|66 W1 0F 3A 16 /r|rm64,xmm,ib|sse o64",
    "PINSRD|66 W0 0F 3A 22 /r|xmm,rm32,ib|sse",
    "PINSRQ|66 W1 0F 3A 22 /r|xmm,rm64,ib|sse o64",
  );
  return rows;
}

/** General-purpose integer, control-flow and string instructions (1-byte and 0F maps). */
function generalRows(): string[] {
  return [
    ...aluRows(),
    "PUSH|06|ES|i64",
    "POP|07|ES|i64",
    "PUSH|0E|CS|i64",
    "PUSH|16|SS|i64",
    "POP|17|SS|i64",
    "PUSH|1E|DS|i64",
    "POP|1F|DS|i64",
    "DAA|27||i64",
    "DAS|2F||i64",
    "AAA|37||i64",
    "AAS|3F||i64",
    "INC|40 +r|rv|i64",
    "DEC|48 +r|rv|i64",
    "PUSH|50 +r|rv|d64",
    "POP|58 +r|rv|d64",
    "PUSHA|60||i64 o16",
    "PUSHAD|60||i64 o32",
    "POPA|61||i64 o16",
    "POPAD|61||i64 o32",
    "BOUND|62 /r|rv,mb|i64",
    "ARPL|63 /r|rm16,r16|i64",
    "MOVSXD|63 /r|rv,rmz|o64",
    "PUSH|68|iz|d64",
    "IMUL|69 /r|rv,rmv,iz|",
    "PUSH|6A|sb|d64",
    "IMUL|6B /r|rv,rmv,sb|",
    "INSB|6C|Yb,DX|rep",
    "INSW|6D|Yv,DX|rep o16",
    "INSD|6D|Yv,DX|rep o32 o64s",
    "OUTSB|6E|DX,Xb|rep",
    "OUTSW|6F|DX,Xv|rep o16",
    "OUTSD|6F|DX,Xv|rep o32 o64s",
    ...ccRows(),
    "TEST|84 /r|rm8,r8|",
    "TEST|85 /r|rmv,rv|",
    "XCHG|86 /r|rm8,r8|lock",
    "XCHG|87 /r|rmv,rv|lock",
    "MOV|88 /r|rm8,r8|",
    "MOV|89 /r|rmv,rv|",
    "MOV|8A /r|r8,rm8|",
    "MOV|8B /r|rv,rmv|",
    "MOV|8C /r|Rv/m16,sreg|",
    "LEA|8D /r|rv,m|",
    "MOV|8E /r|sregw,rm16|",
    "POP|8F /0|rmv|d64",
    "NOP|90||nrexb",
    "PAUSE|F3 90||nrexb",
    "XCHG|90 +r|rv,rAX|",
    "CBW|98||o16",
    "CWDE|98||o32",
    "CDQE|98||o64s",
    "CWD|99||o16",
    "CDQ|99||o32",
    "CQO|99||o64s",
    "CALL|9A|ptr|i64",
    "FWAIT|9B||",
    "PUSHF|9C||d64 o16",
    "PUSHFD|9C||i64 o32",
    "PUSHFQ|9C||o64 d64 o64s",
    "POPF|9D||d64 o16",
    "POPFD|9D||i64 o32",
    "POPFQ|9D||o64 d64 o64s",
    "SAHF|9E||",
    "LAHF|9F||",
    "MOV|A0|AL,ob|",
    "MOV|A1|rAX,ov|",
    "MOV|A2|ob,AL|",
    "MOV|A3|ov,rAX|",
    "MOVSB|A4|Yb,Xb|rep",
    "MOVSW|A5|Yv,Xv|rep o16",
    "MOVSD|A5|Yv,Xv|rep o32",
    "MOVSQ|A5|Yv,Xv|rep o64s",
    "CMPSB|A6|Xb,Yb|repe",
    "CMPSW|A7|Xv,Yv|repe o16",
    "CMPSD|A7|Xv,Yv|repe o32",
    "CMPSQ|A7|Xv,Yv|repe o64s",
    "TEST|A8|AL,ib|",
    "TEST|A9|rAX,iz|",
    "STOSB|AA|Yb,AL|rep",
    "STOSW|AB|Yv,rAX|rep o16",
    "STOSD|AB|Yv,rAX|rep o32",
    "STOSQ|AB|Yv,rAX|rep o64s",
    "LODSB|AC|AL,Xb|rep",
    "LODSW|AD|rAX,Xv|rep o16",
    "LODSD|AD|rAX,Xv|rep o32",
    "LODSQ|AD|rAX,Xv|rep o64s",
    "SCASB|AE|AL,Yb|repe",
    "SCASW|AF|rAX,Yv|repe o16",
    "SCASD|AF|rAX,Yv|repe o32",
    "SCASQ|AF|rAX,Yv|repe o64s",
    "MOV|B0 +r|r8,ib|",
    "MOV|B8 +r|rv,iv|",
    ...shiftRows(),
    "RET|C2|iw|f64",
    "RET|C3||f64",
    "LES|C4 /r|rv,mp|i64",
    "LDS|C5 /r|rv,mp|i64",
    "MOV|C6 /0|rm8,ib|",
    "XABORT|C6 !F8|ib|",
    "MOV|C7 /0|rmv,iz|",
    "XBEGIN|C7 !F8|cz|",
    "ENTER|C8|iw,ib|d64",
    "LEAVE|C9||d64",
    "RETF|CA|iw|",
    "RETF|CB||",
    "INT3|CC||",
    "INT|CD|ib|",
    "INTO|CE||i64",
    "IRET|CF||o16",
    "IRETD|CF||o32",
    "IRETQ|CF||o64s",
    "AAM|D4|ib|i64",
    "AAD|D5|ib|i64",
    "SALC|D6||i64",
    "XLATB|D7||",
    "LOOPNE|E0|cb|f64",
    "LOOPE|E1|cb|f64",
    "LOOP|E2|cb|f64",
    "JCXZ|E3|cb|f64 a16",
    "JECXZ|E3|cb|f64 a32",
    "JRCXZ|E3|cb|f64 a64",
    "IN|E4|AL,ib|",
    "IN|E5|eAX,ib|",
    "OUT|E6|ib,AL|",
    "OUT|E7|ib,eAX|",
    "CALL|E8|cz|f64",
    "JMP|E9|cz|f64",
    "JMP|EA|ptr|i64",
    "JMP|EB|cb|f64",
    "IN|EC|AL,DX|",
    "IN|ED|eAX,DX|",
    "OUT|EE|DX,AL|",
    "OUT|EF|DX,eAX|",
    "INT1|F1||",
    "HLT|F4||",
    "CMC|F5||",
    "TEST|F6 /0|rm8,ib|",
    "TEST|F6 /1|rm8,ib|",
    "NOT|F6 /2|rm8|lock",
    "NEG|F6 /3|rm8|lock",
    "MUL|F6 /4|rm8|",
    "IMUL|F6 /5|rm8|",
    "DIV|F6 /6|rm8|",
    "IDIV|F6 /7|rm8|",
    "TEST|F7 /0|rmv,iz|",
    "TEST|F7 /1|rmv,iz|",
    "NOT|F7 /2|rmv|lock",
    "NEG|F7 /3|rmv|lock",
    "MUL|F7 /4|rmv|",
    "IMUL|F7 /5|rmv|",
    "DIV|F7 /6|rmv|",
    "IDIV|F7 /7|rmv|",
    "CLC|F8||",
    "STC|F9||",
    "CLI|FA||",
    "STI|FB||",
    "CLD|FC||",
    "STD|FD||",
    "INC|FE /0|rm8|lock",
    "DEC|FE /1|rm8|lock",
    "INC|FF /0|rmv|lock",
    "DEC|FF /1|rmv|lock",
    "CALL|FF /2|rmv|f64",
    "CALL|FF /3|mp|",
    "JMP|FF /4|rmv|f64",
    "JMP|FF /5|mp|",
    "PUSH|FF /6|rmv|d64",
    // 0F map: integer
    "UD2|0F 0B||",
    "NOP|0F 1F /0|rmv|",
    "CPUID|0F A2||",
    "BT|0F A3 /r|rmv,rv|",
    "SHLD|0F A4 /r|rmv,rv,ib|",
    "SHLD|0F A5 /r|rmv,rv,CL|",
    "BTS|0F AB /r|rmv,rv|lock",
    "SHRD|0F AC /r|rmv,rv,ib|",
    "SHRD|0F AD /r|rmv,rv,CL|",
    "IMUL|0F AF /r|rv,rmv|",
    "CMPXCHG|0F B0 /r|rm8,r8|lock",
    "CMPXCHG|0F B1 /r|rmv,rv|lock",
    "LSS|0F B2 /r|rv,mp|",
    "BTR|0F B3 /r|rmv,rv|lock",
    "LFS|0F B4 /r|rv,mp|",
    "LGS|0F B5 /r|rv,mp|",
    "MOVZX|0F B6 /r|rv,rm8|",
    "MOVZX|0F B7 /r|rv,rm16|",
    "POPCNT|F3 0F B8 /r|rv,rmv|",
    "UD1|0F B9 /r|rv,rmv|",
    "BT|0F BA /4|rmv,ib|",
    "BTS|0F BA /5|rmv,ib|lock",
    "BTR|0F BA /6|rmv,ib|lock",
    "BTC|0F BA /7|rmv,ib|lock",
    "BTC|0F BB /r|rmv,rv|lock",
    "TZCNT|F3 0F BC /r|rv,rmv|",
    "BSF|0F BC /r|rv,rmv|",
    "LZCNT|F3 0F BD /r|rv,rmv|",
    "BSR|0F BD /r|rv,rmv|",
    "MOVSX|0F BE /r|rv,rm8|",
    "MOVSX|0F BF /r|rv,rm16|",
    "XADD|0F C0 /r|rm8,r8|lock",
    "XADD|0F C1 /r|rmv,rv|lock",
    "MOVNTI|NP 0F C3 /r|my,ry|",
    "CMPXCHG8B|W0 0F C7 /1|m64|lock",
    "CMPXCHG16B|W1 0F C7 /1|m128|lock o64s",
    "RDRAND|0F C7 /6|Rv|",
    "RDSEED|0F C7 /7|Rv|",
    "BSWAP|0F C8 +r|rv|", // 16-bit operand size: undefined result, decoded as r16 (as iced)
    "UD0|0F FF /r|rv,rmv|",
  ];
}

/** System instructions a kernel, firmware or the TDX module path uses. */
function systemRows(): string[] {
  return [
    "SLDT|0F 00 /0|Rv/m16|",
    "STR|0F 00 /1|Rv/m16|",
    "LLDT|0F 00 /2|rm16|",
    "LTR|0F 00 /3|rm16|",
    "VERR|0F 00 /4|rm16|",
    "VERW|0F 00 /5|rm16|",
    "SGDT|0F 01 /0|mdt|",
    "SIDT|0F 01 /1|mdt|",
    "LGDT|0F 01 /2|mdt|",
    "LIDT|0F 01 /3|mdt|",
    "SMSW|0F 01 /4|Rv/m16|",
    "LMSW|0F 01 /6|rm16|",
    "INVLPG|0F 01 /7|m8|",
    "ENCLS|NP 0F 01 !CF||",
    "VMCALL|NP 0F 01 !C1||",
    "VMLAUNCH|NP 0F 01 !C2||",
    "VMRESUME|NP 0F 01 !C3||",
    "VMXOFF|NP 0F 01 !C4||",
    "PCONFIG|NP 0F 01 !C5||",
    "MONITOR|NP 0F 01 !C8||",
    "MWAIT|NP 0F 01 !C9||",
    "CLAC|NP 0F 01 !CA||",
    "STAC|NP 0F 01 !CB||",
    "TDCALL|66 0F 01 !CC||",
    "SEAMRET|66 0F 01 !CD||o64",
    "SEAMOPS|66 0F 01 !CE||o64",
    "SEAMCALL|66 0F 01 !CF||o64",
    "XGETBV|NP 0F 01 !D0||",
    "XSETBV|NP 0F 01 !D1||",
    "VMFUNC|NP 0F 01 !D4||",
    "XEND|NP 0F 01 !D5||",
    "XTEST|NP 0F 01 !D6||",
    "ENCLU|NP 0F 01 !D7||",
    "SERIALIZE|NP 0F 01 !E8||",
    "RDPKRU|NP 0F 01 !EE||",
    "WRPKRU|NP 0F 01 !EF||",
    "SWAPGS|0F 01 !F8||o64",
    "RDTSCP|0F 01 !F9||",
    "LAR|0F 02 /r|rv,Rv/m16|",
    "LSL|0F 03 /r|rv,Rv/m16|",
    "SYSCALL|0F 05||",
    "CLTS|0F 06||",
    "SYSRET|0F 07||o16 o32",
    "SYSRETQ|0F 07||o64s",
    "INVD|0F 08||",
    "WBINVD|0F 09||",
    "WBNOINVD|F3 0F 09||",
    "PREFETCHW|0F 0D /1|m8|",
    "PREFETCHNTA|0F 18 /0|m8|",
    "PREFETCHT0|0F 18 /1|m8|",
    "PREFETCHT1|0F 18 /2|m8|",
    "PREFETCHT2|0F 18 /3|m8|",
    "ENDBR64|F3 0F 1E !FA||",
    "ENDBR32|F3 0F 1E !FB||",
    "MOV|0F 20 /r|Ry,cr|modreg f64",
    "MOV|0F 21 /r|Ry,dr|modreg f64",
    "MOV|0F 22 /r|cr,Ry|modreg f64",
    "MOV|0F 23 /r|dr,Ry|modreg f64",
    "WRMSR|0F 30||",
    "RDTSC|0F 31||",
    "RDMSR|0F 32||",
    "RDPMC|0F 33||",
    "SYSENTER|0F 34||",
    "SYSEXIT|0F 35||o16 o32",
    "SYSEXITQ|0F 35||o64s",
    "GETSEC|NP 0F 37||",
    "VMREAD|NP 0F 78 /r|rmy,ry|f64",
    "VMWRITE|NP 0F 79 /r|ry,rmy|f64",
    "PUSH|0F A0|FS|d64",
    "POP|0F A1|FS|d64",
    "PUSH|0F A8|GS|d64",
    "POP|0F A9|GS|d64",
    "RSM|0F AA||",
    "FXSAVE|NP 0F AE /0|m512|",
    "FXSAVE64|NP W1 0F AE /0|m512|o64",
    "FXRSTOR|NP 0F AE /1|m512|",
    "FXRSTOR64|NP W1 0F AE /1|m512|o64",
    "LDMXCSR|NP 0F AE /2|m32|",
    "STMXCSR|NP 0F AE /3|m32|",
    "XSAVE|NP 0F AE /4|m|",
    "XSAVE64|NP W1 0F AE /4|m|o64",
    "XRSTOR|NP 0F AE /5|m|",
    "XRSTOR64|NP W1 0F AE /5|m|o64",
    "XSAVEOPT|NP 0F AE /6|m|",
    "XSAVEOPT64|NP W1 0F AE /6|m|o64",
    "CLFLUSH|NP 0F AE /7|m8|",
    "CLFLUSHOPT|66 0F AE /7|m8|",
    "CLWB|66 0F AE /6|m8|",
    // the fences ignore ModRM.rm (0F AE E8-EF, F0-F7, F8-FF); E8/F0/F8 are the canonical bytes
    "LFENCE|NP 0F AE /5 mod3||",
    "MFENCE|NP 0F AE /6 mod3||",
    "SFENCE|NP 0F AE /7 mod3||",
    "RDFSBASE|F3 0F AE /0|Ry|o64",
    "RDGSBASE|F3 0F AE /1|Ry|o64",
    "WRFSBASE|F3 0F AE /2|Ry|o64",
    "WRGSBASE|F3 0F AE /3|Ry|o64",
    "XRSTORS|NP 0F C7 /3|m|",
    "XRSTORS64|NP W1 0F C7 /3|m|o64",
    "XSAVEC|NP 0F C7 /4|m|",
    "XSAVEC64|NP W1 0F C7 /4|m|o64",
    "XSAVES|NP 0F C7 /5|m|",
    "XSAVES64|NP W1 0F C7 /5|m|o64",
    "VMPTRLD|NP 0F C7 /6|m64|",
    "VMCLEAR|66 0F C7 /6|m64|",
    "VMXON|F3 0F C7 /6|m64|",
    "VMPTRST|NP 0F C7 /7|m64|",
    "RDPID|F3 0F C7 /7|Ry|f64",
    "INVEPT|66 0F 38 80 /r|ry,m128|f64",
    "INVVPID|66 0F 38 81 /r|ry,m128|f64",
    "INVPCID|66 0F 38 82 /r|ry,m128|f64",
  ];
}

/** Intel's reserved-NOP space (0F 0D, 0F 18-0F 1F): every ModRM not taken by a hint decodes as a NOP. */
function reservedNopRows(): string[] {
  const rows = ["NOP|0F 0D /r|rmv,rv|"];
  for (let op = 0x18; op <= 0x1f; op++) rows.push(`NOP|0F ${hex(op)} /r|rmv,rv|`);
  return rows;
}

/** Newer extensions the decoder recognises (SHA, SGX ENCLV, WAITPKG, RAO-INT); not run by the executor. */
function extensionRows(): string[] {
  const sha: [string, string][] = [
    ["SHA1NEXTE", "C8"],
    ["SHA1MSG1", "C9"],
    ["SHA1MSG2", "CA"],
    ["SHA256RNDS2", "CB"],
    ["SHA256MSG1", "CC"],
    ["SHA256MSG2", "CD"],
  ];
  return [
    ...sha.map(([m, op]) => `${m}|NP 0F 38 ${op} /r|xmm,xmm/m128|sse unsup`),
    "SHA1RNDS4|NP 0F 3A CC /r|xmm,xmm/m128,ib|sse unsup",
    "ENCLV|NP 0F 01 !C0||unsup",
    "UMONITOR|F3 0F AE /6 mod3|Rv|unsup",
    "UMWAIT|F2 0F AE /6 mod3|R32|unsup",
    "TPAUSE|66 0F AE /6 mod3|R32|unsup",
    "AADD|NP 0F 38 FC /r|my,ry|unsup",
    "AAND|66 0F 38 FC /r|my,ry|unsup",
    "AOR|F2 0F 38 FC /r|my,ry|unsup",
    "AXOR|F3 0F 38 FC /r|my,ry|unsup",
  ];
}

/** AMD instructions that exist as encodings but that the executor does not run. */
function amdRows(): string[] {
  const svm = ["VMRUN", "VMMCALL", "VMLOAD", "VMSAVE", "STGI", "CLGI", "SKINIT", "INVLPGA"];
  return [
    "FEMMS|0F 0E||unsup",
    ...svm.map((m, i) => `${m}|0F 01 !${hex(0xd8 + i)}||unsup`),
    "MOVNTSS|F3 0F 2B /r|m32,xmm|sse unsup",
    "MOVNTSD|F2 0F 2B /r|m64,xmm|sse unsup",
  ];
}

/** Every row of the table, in priority order (the first matching form wins when decoding). */
export const TABLE_ROWS: readonly string[] = [
  ...generalRows(),
  ...systemRows(),
  ...sseRows(),
  ...sse4Rows(),
  ...extensionRows(),
  ...amdRows(),
  ...reservedNopRows(),
];
