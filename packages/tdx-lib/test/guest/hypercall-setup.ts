// Reads a TDVMCALL wrapper's disassembly the way a reviewer would: which value lands in each
// field of its struct tdx_hypercall_args before `call __tdx_hypercall`, with which flags, and
// which output field is stored through which pointer argument afterwards. Only the plain
// moves the wrappers use are understood; anything else in the set-up path fails the test.

const ARG_REGS = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];
/** Fields of tdx_hypercall_args at [rbp−0x30 + 8·i]. */
const FIELDS = ["r10", "r11", "r12", "r13", "r14", "r15"];
const fieldAt = (disp: number) => FIELDS[(disp + 0x30) / 8];

export interface HypercallSetup {
  /** R10..R15 as "0x…" constants, "argN" or "u32(argN)". */
  readonly registers: Record<string, string>;
  readonly flags: string;
  /** Output register → "*argN" (8 bytes) or "*(u32 *)argN". */
  readonly outputs: Record<string, string>;
}

export function readHypercallSetup(lines: readonly string[]): HypercallSetup {
  const regs = new Map<string, string>(ARG_REGS.map((r, i) => [r, `arg${i}`]));
  const slots = new Map<number, string>();
  const callAt = lines.indexOf("call __tdx_hypercall");
  if (callAt < 0) throw new Error("no call to __tdx_hypercall");
  const slotOf = (hex: string) => -Number.parseInt(hex, 16);
  const rules: [RegExp, (m: RegExpMatchArray, line: string) => void][] = [
    [/^(push rbp|mov rbp,rsp|sub rsp,0x60)$/, () => {}],
    [
      /^mov QWORD PTR \[rbp-0x([0-9a-f]+)\],(\w+)$/,
      (m, line) => {
        const value = /^0x/.test(m[2]) ? m[2] : regs.get(m[2]);
        if (value === undefined) throw new Error(`unknown source in "${line}"`);
        slots.set(slotOf(m[1]), value);
      },
    ],
    [/^mov rax,QWORD PTR \[rbp-0x([0-9a-f]+)\]$/, (m) => regs.set("rax", slots.get(slotOf(m[1])) ?? "?")],
    [/^mov eax,DWORD PTR \[rbp-0x([0-9a-f]+)\]$/, (m) => regs.set("rax", `u32(${slots.get(slotOf(m[1]))})`)],
    [/^lea rdi,\[rbp-0x30\]$/, () => regs.set("rdi", "&args")],
    [/^mov esi,(0x[0-9a-f]+)$/, (m) => regs.set("rsi", m[1])],
  ];
  for (const line of lines.slice(0, callAt)) {
    const rule = rules.find(([re]) => re.test(line));
    if (!rule) throw new Error(`unexpected set-up instruction "${line}"`);
    rule[1](line.match(rule[0]) as RegExpMatchArray, line);
  }
  if (regs.get("rdi") !== "&args") throw new Error("RDI is not the args struct at the call");
  const registers: Record<string, string> = {};
  for (const [disp, value] of slots) if (disp >= -0x30) registers[fieldAt(disp)] = value;
  const outputs: Record<string, string> = {};
  const after = lines.slice(callAt + 1);
  for (let i = 0; i + 4 < after.length; i++) {
    const ptr = after[i].match(/^mov rcx,QWORD PTR \[rbp-0x([0-9a-f]+)\]$/);
    const field = after[i + 3].match(/^mov rdx,QWORD PTR \[rbp-0x([0-9a-f]+)\]$/);
    const store = after[i + 4].match(/^mov (QWORD|DWORD) PTR \[rcx\],(rdx|edx)$/);
    if (!ptr || !field || !store || after[i + 1] !== "test rcx,rcx" || !/^je /.test(after[i + 2])) continue;
    const target = slots.get(-Number.parseInt(ptr[1], 16));
    const reg = fieldAt(-Number.parseInt(field[1], 16));
    outputs[reg] = store[1] === "QWORD" ? `*${target}` : `*(u32 *)${target}`;
  }
  return { registers, flags: regs.get("rsi") ?? "?", outputs };
}
