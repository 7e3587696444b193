// Issue 4's "Done when": every bad state (invalid CR combination, non-canonical address, bad
// descriptor) raises the exception the SDM specifies, with the exact vector and error code,
// through Cpu.run on assembled 64-bit guests. Each row is one guest program; the exception
// handlers run on IST1 (so a fault on a bad RSP is still delivered) and the fault's error code
// and RIP are read from the pushed frame.
import { describe, expect, it } from "vitest";
import { writeGuestPhysical } from "../../src/index.js";
import { type Guest, guest64, peek64, reg, stubVector } from "./harness.js";

const RSP = 4;
const IST_STACK = 0x70000;
/** Free GDT slots after the harness's 7 (null, code, data, user data, user code, 16-byte TSS). */
const FIRST_EXTRA = 7;

/** Extra GDT descriptors (8 bytes each, from index 7 = selector 0x38). */
const EXTRA: bigint[] = [
  0x0000120000000000n, // 0x38: data, read/write, not present
  0x0020980000000000n, // 0x40: code64, execute-only
  0x0000900000000000n, // 0x48: data, read-only
  0x0000f20000000000n, // 0x50: data DPL3 (writable)
  0x0000820000000000n, // 0x58: LDT descriptor (system type 2), base 0 (16 bytes in IA-32e mode)
  0n,
  0x0000890000000067n, // 0x68: available 64-bit TSS, limit 0x67 (16 bytes)
  0n,
  0x00008b0000000067n, // 0x78: busy 64-bit TSS
  0n,
  0x0000090000000067n, // 0x88: available TSS, not present
  0n,
  0x0020980000000000n, // 0x98: code64, execute-only, present (far target)
  0x0020180000000000n, // 0xa0: code64, not present
  0x00209e0000000000n, // 0xa8: code64 conforming, DPL0
  0x0000020000000000n, // 0xb0: LDT, not present
  0n,
];

function setup(src: string, opts: { user?: boolean } = {}): Guest {
  const g = guest64(src, opts);
  const st = g.cpu.st;
  const gdt = st.gdtrBaseLo;
  const bytes = new Uint8Array(EXTRA.length * 8);
  const dv = new DataView(bytes.buffer);
  EXTRA.forEach((d, i) => {
    dv.setBigUint64(i * 8, d, true);
  });
  writeGuestPhysical(g.map, gdt + FIRST_EXTRA * 8, bytes);
  st.gdtrLimit = (FIRST_EXTRA + EXTRA.length) * 8 - 1;
  // IST1 for vectors 0-31: exceptions are delivered even when RSP is bad.
  const tss = st.seg[7 * 8 + 1];
  const ist = new Uint8Array(8);
  new DataView(ist.buffer).setBigUint64(0, BigInt(IST_STACK), true);
  writeGuestPhysical(g.map, tss + 0x24, ist);
  for (let v = 0; v < 32; v++) writeGuestPhysical(g.map, st.idtrBaseLo + v * 16 + 4, new Uint8Array([1]));
  return g;
}

interface Row {
  name: string;
  src: string;
  vector: number;
  /** Error code pushed; undefined for exceptions without one. */
  error?: number;
  user?: boolean;
  /** Label of the faulting instruction (checked against the pushed RIP). */
  at?: string;
}

function runRow(row: Row): Guest {
  const g = setup(`${row.src}\nhlt`, { user: row.user });
  const stop = g.cpu.run(10_000);
  expect(stop, row.name).toEqual({ reason: "hlt" });
  expect(stubVector(g.cpu), `${row.name}: vector`).toBe(row.vector);
  const sp = Number(reg(g.cpu, RSP));
  expect(sp, `${row.name}: handler on IST1`).toBeLessThan(IST_STACK);
  const frame = row.error === undefined ? sp : sp + 8;
  if (row.error !== undefined) expect(Number(peek64(g.mem, sp)), `${row.name}: error code`).toBe(row.error);
  if (row.at !== undefined)
    expect(peek64(g.mem, frame), `${row.name}: faulting RIP`).toBe(g.labels.get(row.at));
  return g;
}

const GP = 13;
const NP = 11;
const SS = 12;
const UD = 6;

const NONCANON = "0x0000800000000000";

const CR_ROWS: Row[] = [
  {
    name: "CR0.PG=1 with PE=0",
    src: "mov rax, cr0\nbtr rax, 0\nf: mov cr0, rax",
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "CR0.NW=1 with CD=0",
    src: "mov rax, cr0\nbts rax, 29\nbtr rax, 30\nmov cr0, rax",
    vector: GP,
    error: 0,
  },
  { name: "CR0 bit 32", src: "mov rax, cr0\nbts rax, 32\nmov cr0, rax", vector: GP, error: 0 },
  {
    name: "clear CR0.PG in 64-bit mode",
    src: "mov rax, cr0\nbtr rax, 31\nmov cr0, rax",
    vector: GP,
    error: 0,
  },
  {
    name: "clear CR0.PG in 64-bit mode with PCIDE",
    src: "mov rax, cr4\nbts rax, 17\nmov cr4, rax\nmov rax, cr0\nbtr rax, 31\nf: mov cr0, rax",
    vector: GP,
    error: 0,
    at: "f",
  },
  { name: "CR4 reserved bit 31", src: "mov rax, cr4\nbts rax, 31\nmov cr4, rax", vector: GP, error: 0 },
  { name: "CR4 bit 63", src: "mov rax, cr4\nbts rax, 63\nmov cr4, rax", vector: GP, error: 0 },
  { name: "clear CR4.PAE in long mode", src: "mov rax, cr4\nbtr rax, 5\nmov cr4, rax", vector: GP, error: 0 },
  {
    name: "toggle CR4.LA57 in long mode",
    src: "mov rax, cr4\nbts rax, 12\nmov cr4, rax",
    vector: GP,
    error: 0,
  },
  {
    name: "set CR4.PCIDE with CR3[11:0] != 0",
    src: "mov rax, cr3\nor rax, 8\nmov cr3, rax\nmov rax, cr4\nbts rax, 17\nf: mov cr4, rax",
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "CR3 bit 63 without PCIDE (reserved above MAXPHYADDR)",
    src: "mov rax, cr3\nbts rax, 62\nmov cr3, rax",
    vector: GP,
    error: 0,
  },
  { name: "CR8 bit 4", src: "mov eax, 16\nmov cr8, rax", vector: GP, error: 0 },
  { name: "MOV to CR1", src: ".byte 0x0f, 0x22, 0xc8", vector: UD },
  { name: "MOV to CR5", src: ".byte 0x0f, 0x22, 0xe8", vector: UD },
  { name: "MOV from CR0 at CPL 3", src: "f: mov rax, cr0", vector: GP, error: 0, user: true, at: "f" },
  {
    name: "EFER.LME change with paging on",
    src: "mov ecx, 0xc0000080\nrdmsr\nbtr eax, 8\nwrmsr",
    vector: GP,
    error: 0,
  },
  { name: "EFER reserved bit 2", src: "mov ecx, 0xc0000080\nrdmsr\nbts eax, 2\nwrmsr", vector: GP, error: 0 },
  { name: "EFER bit 32", src: "mov ecx, 0xc0000080\nrdmsr\nmov edx, 1\nwrmsr", vector: GP, error: 0 },
  {
    name: "XSETBV ECX=1",
    src: "mov rax, cr4\nbts rax, 18\nmov cr4, rax\nmov ecx, 1\nmov eax, 3\nxor edx, edx\nxsetbv",
    vector: GP,
    error: 0,
  },
  {
    name: "XSETBV XCR0.X87=0",
    src: "mov rax, cr4\nbts rax, 18\nmov cr4, rax\nxor ecx, ecx\nmov eax, 2\nxor edx, edx\nxsetbv",
    vector: GP,
    error: 0,
  },
  {
    name: "XSETBV AVX without SSE",
    src: "mov rax, cr4\nbts rax, 18\nmov cr4, rax\nxor ecx, ecx\nmov eax, 5\nxor edx, edx\nxsetbv",
    vector: GP,
    error: 0,
  },
  {
    name: "XSETBV with CR4.OSXSAVE=0",
    src: "xor ecx, ecx\nmov eax, 1\nxor edx, edx\nf: xsetbv",
    vector: UD,
    at: "f",
  },
  {
    name: "XSETBV with CR4.OSXSAVE=0 at CPL 3 (#UD before #GP)",
    src: "xor ecx, ecx\nmov eax, 1\nxor edx, edx\nxsetbv",
    vector: UD,
    user: true,
  },
  { name: "XGETBV with CR4.OSXSAVE=0", src: "xor ecx, ecx\nxgetbv", vector: UD },
];

const MSR_ROWS: Row[] = [
  ["FS_BASE", 0xc0000100],
  ["GS_BASE", 0xc0000101],
  ["KERNEL_GS_BASE", 0xc0000102],
  ["LSTAR", 0xc0000082],
  ["CSTAR", 0xc0000083],
  ["SYSENTER_ESP", 0x175],
  ["SYSENTER_EIP", 0x176],
].map(([n, msr]) => ({
  // 0x0100000000000000 is not canonical even with 57-bit addresses (MSR writes check the CPU's maximum width)
  name: `WRMSR ${n} non-canonical`,
  src: `mov ecx, ${msr}\nxor eax, eax\nmov edx, 0x01000000\nwrmsr`,
  vector: GP,
  error: 0,
}));

const CANONICAL_ROWS: Row[] = [
  {
    name: "load through a non-canonical base",
    src: `mov rbx, ${NONCANON}\nf: mov rax, [rbx]`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "store through a non-canonical base",
    src: `mov rbx, ${NONCANON}\nmov [rbx + 8], eax`,
    vector: GP,
    error: 0,
  },
  {
    name: "8-byte load whose last byte is non-canonical",
    src: "mov rbx, 0x7ffffffffffc\nmov rax, [rbx]",
    vector: GP,
    error: 0,
  },
  {
    name: "load through RBP (SS segment) non-canonical",
    src: `mov rbp, ${NONCANON}\nf: mov rax, [rbp]`,
    vector: SS,
    error: 0,
    at: "f",
  },
  {
    name: "load through RSP+disp non-canonical",
    src: `mov rsp, ${NONCANON}\nmov rax, [rsp + 16]`,
    vector: SS,
    error: 0,
  },
  {
    name: "PUSH with non-canonical RSP",
    src: `mov rsp, ${NONCANON}\nadd rsp, 8\nf: push rax`,
    vector: SS,
    error: 0,
    at: "f",
  },
  { name: "POP with non-canonical RSP", src: `mov rsp, ${NONCANON}\npop rax`, vector: SS, error: 0 },
  { name: "LODSQ non-canonical RSI", src: `mov rsi, ${NONCANON}\nlodsq`, vector: GP, error: 0 },
  {
    name: "JMP reg to non-canonical",
    src: `mov rax, ${NONCANON}\nf: jmp rax`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "CALL reg to non-canonical",
    src: `mov rax, ${NONCANON}\nf: call rax`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "RET to non-canonical",
    src: `mov rax, ${NONCANON}\npush rax\nf: ret`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "IRETQ to non-canonical RIP",
    src: `mov rax, ss\npush rax\npush rsp\npushfq\npush 8\nmov rax, ${NONCANON}\npush rax\nf: iretq`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "far JMP m16:64 to non-canonical offset (48-bit with CR4.LA57=0)",
    src: `mov rax, ${NONCANON}\nmov [rip + t], rax\nmov word ptr [rip + t + 8], 8\nf: jmp tbyte ptr [rip + t]\nt: .quad 0\n.word 0`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "SYSRET to non-canonical RCX",
    src: `mov rcx, ${NONCANON}\nf: sysretq`,
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "LGDT non-canonical base",
    src: "mov word ptr [rip + t], 7\nmov rax, 0x0100000000000000\nmov [rip + t + 2], rax\nlgdt [rip + t]\nt: .zero 10",
    vector: GP,
    error: 0,
  },
];

const SEG_ROWS: Row[] = [
  {
    name: "MOV DS beyond the GDT limit",
    src: "mov ax, 0x1000\nf: mov ds, ax",
    vector: GP,
    error: 0x1000,
    at: "f",
  },
  { name: "MOV DS not present", src: "mov ax, 0x38\nmov ds, ax", vector: NP, error: 0x38 },
  { name: "MOV DS execute-only code", src: "mov ax, 0x40\nmov ds, ax", vector: GP, error: 0x40 },
  { name: "MOV DS system descriptor", src: "mov ax, 0x58\nmov ds, ax", vector: GP, error: 0x58 },
  { name: "MOV DS RPL 3 > DPL 0", src: "mov ax, 0x13\nmov ds, ax", vector: GP, error: 0x10 },
  { name: "MOV DS CPL 3 > DPL 0", src: "mov ax, 0x13\nmov ds, ax", vector: GP, error: 0x10, user: true },
  { name: "MOV DS LDT selector without an LDT", src: "mov ax, 0x0c\nmov ds, ax", vector: GP, error: 0x0c },
  { name: "MOV SS read-only data", src: "mov ax, 0x48\nmov ss, ax", vector: GP, error: 0x48 },
  { name: "MOV SS not present", src: "mov ax, 0x38\nmov ss, ax", vector: SS, error: 0x38 },
  { name: "MOV SS DPL 3 at CPL 0", src: "mov ax, 0x50\nmov ss, ax", vector: GP, error: 0x50 },
  { name: "MOV SS RPL != CPL", src: "mov ax, 0x11\nmov ss, ax", vector: GP, error: 0x10 },
  { name: "MOV SS null at CPL 3", src: "xor eax, eax\nmov ss, ax", vector: GP, error: 0, user: true },
  { name: "MOV CS", src: ".byte 0x8e, 0xc8", vector: UD },
  { name: "POP DS in 64-bit mode", src: ".byte 0x1f", vector: UD },
  {
    name: "far JMP to a null selector",
    src: "mov word ptr [rip + t + 8], 0\nf: jmp tbyte ptr [rip + t]\nt: .quad 0\n.word 0",
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "far JMP to a data segment",
    src: "lea rax, [rip + t]\nmov word ptr [rax + 8], 0x10\njmp tbyte ptr [rax]\nt: .quad 0\n.word 0",
    vector: GP,
    error: 0x10,
  },
  {
    name: "far JMP to a not-present code segment",
    src: "lea rax, [rip + t]\nmov word ptr [rax + 8], 0xa0\njmp tbyte ptr [rax]\nt: .quad 0\n.word 0",
    vector: NP,
    error: 0xa0,
  },
  {
    name: "far JMP to a DPL 0 code segment from CPL 3",
    src: "lea rax, [rip + t]\nmov word ptr [rax + 8], 0x0b\njmp tbyte ptr [rax]\nt: .quad 0\n.word 0",
    vector: GP,
    error: 0x08,
    user: true,
  },
  {
    name: "far CALL to DPL 3 nonconforming code from CPL 0",
    src: "lea rax, [rip + t]\nmov word ptr [rax + 8], 0x23\ncall tbyte ptr [rax]\nt: .quad 0\n.word 0",
    vector: GP,
    error: 0x20,
  },
  {
    name: "far CALL beyond the GDT limit",
    src: "lea rax, [rip + t]\nmov word ptr [rax + 8], 0x2000\ncall tbyte ptr [rax]\nt: .quad 0\n.word 0",
    vector: GP,
    error: 0x2000,
  },
  {
    name: "RETF to a null selector",
    src: "push 0\npush 0\nf: .byte 0x48, 0xcb",
    vector: GP,
    error: 0,
    at: "f",
  },
  {
    name: "RETF to RPL 0 from CPL 3",
    src: "push 0x08\npush 0\n.byte 0x48, 0xcb",
    vector: GP,
    error: 0x08,
    user: true,
  },
  { name: "RETF to a data segment", src: "push 0x10\npush 0\n.byte 0x48, 0xcb", vector: GP, error: 0x10 },
  {
    name: "RETF to a not-present segment",
    src: "push 0xa0\npush 0\n.byte 0x48, 0xcb",
    vector: NP,
    error: 0xa0,
  },
  {
    name: "IRETQ to a null CS",
    src: "mov rax, ss\npush rax\npush rsp\npushfq\npush 0\npush 0\niretq",
    vector: GP,
    error: 0,
  },
  {
    name: "IRETQ from CPL 3 to CPL 0",
    src: "push 0x10\npush rsp\npushfq\npush 0x08\npush 0\niretq",
    vector: GP,
    error: 0x08,
    user: true,
  },
  {
    name: "IRETQ to CPL 3 with a null SS",
    src: "push 0\npush rsp\npushfq\npush 0x23\npush 0\niretq",
    vector: GP,
    error: 0,
  },
  {
    name: "IRETQ to CPL 3 with SS DPL 0",
    src: "push 0x13\npush rsp\npushfq\npush 0x23\npush 0\niretq",
    vector: GP,
    error: 0x10,
  },
  {
    name: "IRETQ to a not-present CS",
    src: "mov rax, ss\npush rax\npush rsp\npushfq\npush 0xa0\npush 0\niretq",
    vector: NP,
    error: 0xa0,
  },
  { name: "LTR null", src: "xor eax, eax\nltr ax", vector: GP, error: 0 },
  { name: "LTR busy TSS", src: "mov ax, 0x78\nltr ax", vector: GP, error: 0x78 },
  { name: "LTR not-present TSS", src: "mov ax, 0x88\nltr ax", vector: NP, error: 0x88 },
  { name: "LTR data segment", src: "mov ax, 0x10\nltr ax", vector: GP, error: 0x10 },
  { name: "LTR LDT selector", src: "mov ax, 0x6c\nltr ax", vector: GP, error: 0x6c },
  { name: "LTR beyond the GDT limit", src: "mov ax, 0x1000\nltr ax", vector: GP, error: 0x1000 },
  { name: "LTR at CPL 3", src: "mov ax, 0x68\nltr ax", vector: GP, error: 0, user: true },
  { name: "LLDT data segment", src: "mov ax, 0x10\nlldt ax", vector: GP, error: 0x10 },
  { name: "LLDT not present", src: "mov ax, 0xb0\nlldt ax", vector: NP, error: 0xb0 },
  { name: "LLDT beyond the GDT limit", src: "mov ax, 0x1000\nlldt ax", vector: GP, error: 0x1000 },
  { name: "LLDT at CPL 3", src: "xor eax, eax\nlldt ax", vector: GP, error: 0, user: true },
];

describe("bad state → the SDM's exception (64-bit guests through Cpu.run)", () => {
  describe("control registers, EFER, XCR0", () => {
    for (const row of CR_ROWS) it(row.name, () => void runRow(row));
  });
  describe("non-canonical MSR writes", () => {
    for (const row of MSR_ROWS) it(row.name, () => void runRow(row));
  });
  describe("non-canonical addresses and RIP", () => {
    for (const row of CANONICAL_ROWS) it(row.name, () => void runRow(row));
  });
  describe("bad descriptors", () => {
    for (const row of SEG_ROWS) it(row.name, () => void runRow(row));
  });

  it("the good counterparts do not fault", () => {
    const ok = [
      "mov ax, 0\nmov ds, ax", // null DS is fine
      "xor eax, eax\nmov ss, ax", // null SS at CPL 0 in 64-bit mode
      "mov ax, 0x68\nltr ax\nmov ax, 0x58\nlldt ax\nxor eax, eax\nlldt ax",
      "mov rax, cr4\nbts rax, 17\nmov cr4, rax", // PCIDE with CR3[11:0] = 0
      "mov rax, cr4\nbts rax, 18\nmov cr4, rax\nxor ecx, ecx\nmov eax, 3\nxor edx, edx\nxsetbv",
      "mov ecx, 0xc0000082\nxor eax, eax\nmov edx, 0x00ff0000\nwrmsr", // 57-bit canonical LSTAR is accepted
    ];
    for (const src of ok) {
      const g = setup(`${src}\nhlt`);
      expect(g.cpu.run(1000), src).toEqual({ reason: "hlt" });
      expect(Number(reg(g.cpu, RSP)), src).toBeGreaterThan(IST_STACK); // no handler ran
    }
  });

  it("a task switch (far JMP to a TSS) stops unsupported", () => {
    const g = setup(
      "lea rax, [rip + t]\nmov word ptr [rax + 8], 0x68\njmp tbyte ptr [rax]\nt: .quad 0\n.word 0",
    );
    const stop = g.cpu.run(1000);
    expect(stop.reason).toBe("unsupported");
  });
});
