// Asks the @tdxsim/x86 core what it really executes: a probe is a few instructions assembled for
// 64-bit mode and run on a fresh CPU (long mode, paging, CPL 0, no IDT). It passes only if the CPU
// reaches the HLT after it: an instruction the core does not execute stops "unsupported", and one
// that faults (#UD, #GP on a CR4 bit it refuses ...) triple-faults for want of an IDT.
import { SparseMemory } from "@tdxsim/memory";
import {
  AR_DB,
  AR_G,
  AR_L,
  AR_P,
  AR_S,
  Cpu,
  CR0_ET,
  CR0_PE,
  CR0_PG,
  CR4_OSFXSR,
  CR4_OSXMMEXCPT,
  CR4_OSXSAVE,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  FlatGuestPhysicalMap,
  SEG_CS,
  setSegment,
  writeGuestPhysical,
  writeRflags,
} from "@tdxsim/x86";
import { assembleText } from "@tdxsim/x86/asm";

const PROBE_RAM = 4 * 1024 * 1024;
const PML4 = 0x1000;
const PDPT = 0x2000;
const PD = 0x3000;
/** RBX points here: a zeroed, 64-byte aligned scratch area for memory operands. */
export const PROBE_DATA = 0x10000;
const CODE = 0x100000;
/** PDPT entry 1 maps this 1 GiB page (the PDPE1GB probe reads through it). */
export const PROBE_1G_VA = 0x4000_0000;

function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

/** A fresh CPU in 64-bit mode over an identity map of the first GiB (2 MiB pages) plus one 1 GiB page. */
function probeCpu(): { cpu: Cpu; map: FlatGuestPhysicalMap } {
  const map = new FlatGuestPhysicalMap(new SparseMemory(PROBE_RAM));
  const cpu = new Cpu({ map, exits: { cpuid: () => [0, 0, 0, 0] } });
  writeGuestPhysical(map, PML4, u64(PDPT | 3));
  writeGuestPhysical(map, PDPT, u64(PD | 3));
  writeGuestPhysical(map, PDPT + 8, u64(0x83)); // 1 GiB page at PA 0
  for (let i = 0; i < 2; i++) writeGuestPhysical(map, PD + 8 * i, u64(i * 0x200000 + 0x83));
  const st = cpu.st;
  st.cr0 = CR0_PE | CR0_PG | CR0_ET;
  st.cr3Lo = PML4;
  st.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
  st.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
  st.xcr0 = 3;
  st.idtrLimit = 0; // any exception ends in a triple fault
  for (let s = 0; s < 6; s++) setSegment(st.seg, s, 0x10, 0, 0, -1, AR_P | AR_S | 0x3 | AR_DB | AR_G);
  setSegment(st.seg, SEG_CS, 0x08, 0, 0, -1, AR_P | AR_S | 0xb | AR_L | AR_G);
  writeRflags(st.r, 0x2);
  cpu.syncMode();
  return { cpu, map };
}

/** Setup before the probe runs: the CPU, and the address of the final HLT (a landing pad). */
export type ProbeSetup = (cpu: Cpu, hltAddress: number) => void;

/** Does the CPU execute `source` (Intel syntax, 64-bit) and reach the HLT after it? */
export function executes(source: string, setup?: ProbeSetup): boolean {
  let bytes: Uint8Array;
  try {
    bytes = assembleText(`${source}\nhlt`, { mode: 64, origin: CODE }).bytes;
  } catch {
    return false; // not even in the instruction table (x87, AVX ...): certainly not executed
  }
  const { cpu, map } = probeCpu();
  writeGuestPhysical(map, CODE, bytes);
  const hlt = CODE + bytes.length - 1;
  const regs = cpu.getRegs();
  cpu.setRegs({ ...regs, rip: BigInt(CODE), rbx: BigInt(PROBE_DATA), rsp: BigInt(PROBE_DATA + 0x8000) });
  setup?.(cpu, hlt);
  const stop = cpu.run(10_000);
  return stop.reason === "hlt" && cpu.getRegs().rip === BigInt(hlt + 1);
}

/** `mov cr4` with `bit` added: does the CPU accept that CR4 bit? */
export function acceptsCr4Bit(bit: number, extra = ""): boolean {
  return executes(`mov rax, cr4\nbts rax, ${bit}\nmov cr4, rax\n${extra}`);
}
