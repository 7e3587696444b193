// Test fixtures: a host with memory and a TDX module, and a builder that takes a TD through the
// KVM-style lifecycle step by step.
import { HostPhysicalMemory } from "@tdxsim/memory";
import { GPR_NAMES } from "@tdxsim/x86";
import { expect } from "vitest";
import { MIN_NUM_TDCS_PAGES, MIN_NUM_TDVPS_PAGES } from "../src/abi/pages.js";
import { decodeTdxStatus, TdxStatus } from "../src/abi/status.js";
import { buildTdParams } from "../src/td-params.js";
import { moduleInternals, type SeamcallOutput, TdxModule } from "../src/tdx-module.js";

export const MiB = 1024 * 1024;

export function makeHost(size = 1024 * MiB) {
  const memory = new HostPhysicalMemory(size);
  const tdx = new TdxModule(memory);
  return { memory, tdx, guest: tdx.takeGuestAccess() };
}
export type Host = ReturnType<typeof makeHost>;

/** Asserts the exact 64-bit status, printing names on mismatch. */
export function expectStatus(out: SeamcallOutput | bigint, expected: bigint): void {
  const status = typeof out === "bigint" ? out : out.status;
  expect(decodeTdxStatus(status)).toBe(decodeTdxStatus(expected));
  expect(status).toBe(expected);
}
export const OK = TdxStatus.TDX_SUCCESS;

export interface TdHandle {
  tdr: number;
  hkid: number;
  tdcs: number[];
  vcpus: number[];
}

let nextHkid = 2;
export function freshHkid(): number {
  nextHkid = nextHkid >= 63 ? 2 : nextHkid + 1;
  return nextHkid;
}

/** MNG.CREATE + KEY.CONFIG + ADDCX × N (stops before MNG.INIT). */
export function createTd(host: Host, hkid = freshHkid()): TdHandle {
  const { memory, tdx } = host;
  const tdr = memory.allocPage();
  expectStatus(tdx.tdhMngCreate(tdr, hkid), OK);
  expectStatus(tdx.tdhMngKeyConfig(tdr), OK);
  const tdcs: number[] = [];
  for (let i = 0; i < MIN_NUM_TDCS_PAGES; i++) {
    const p = memory.allocPage();
    expectStatus(tdx.tdhMngAddcx(p, tdr), OK);
    tdcs.push(p);
  }
  return { tdr, hkid, tdcs, vcpus: [] };
}

/** Writes TD_PARAMS to a host page and runs MNG.INIT. */
export function initTd(
  host: Host,
  td: TdHandle,
  params: Parameters<typeof buildTdParams>[0] = {},
): SeamcallOutput {
  const page = host.memory.allocPage();
  host.memory.host.writeBytes(page, buildTdParams({ maxVcpus: 4, ...params }));
  return host.tdx.tdhMngInit(td.tdr, page);
}

/** VP.CREATE + VP.ADDCX × (MIN−1) + VP.INIT. */
export function addVcpu(host: Host, td: TdHandle, initialRcx = 0x1234n): number {
  const { memory, tdx } = host;
  const tdvpr = memory.allocPage();
  expectStatus(tdx.tdhVpCreate(tdvpr, td.tdr), OK);
  for (let i = 0; i < MIN_NUM_TDVPS_PAGES - 1; i++)
    expectStatus(tdx.tdhVpAddcx(memory.allocPage(), tdvpr), OK);
  expectStatus(tdx.tdhVpInit(tdvpr, initialRcx), OK);
  td.vcpus.push(tdvpr);
  return tdvpr;
}

/** SEPT pages for levels 3..1 so that 4 KiB leaves under `gpa` can be added (4-level SEPT). */
export function mapSeptFor(host: Host, td: TdHandle, gpa: number, downTo = 1, levels = 4): void {
  for (let level = levels - 1; level >= downTo; level--) {
    const size = 4096 * 512 ** level;
    const base = gpa - (gpa % size);
    const r = host.tdx.tdhMemSeptRd(base, level, td.tdr);
    if (r.status === OK && r.rdx! >> 8n === 0x84n) continue;
    expectStatus(host.tdx.tdhMemSeptAdd(base, level, td.tdr, host.memory.allocPage()), OK);
  }
}

/** A full TD ready to add pages: created, initialised, one vCPU. */
export function buildTd(host: Host, params: Parameters<typeof buildTdParams>[0] = {}): TdHandle {
  const td = createTd(host);
  expectStatus(initTd(host, td, params), OK);
  addVcpu(host, td);
  return td;
}

/** PAGE.ADD of `data` (one page) at `gpa` with its SEPT path. Returns the private HPA. */
export function addPage(host: Host, td: TdHandle, gpa: number, data?: Uint8Array): number {
  mapSeptFor(host, td, gpa);
  const src = host.memory.allocPage();
  if (data) host.memory.host.writeBytes(src, data);
  const hpa = host.memory.allocPage();
  expectStatus(host.tdx.tdhMemPageAdd(gpa, 0, td.tdr, hpa, src), OK);
  return hpa;
}

export function finalize(host: Host, td: TdHandle): void {
  expectStatus(host.tdx.tdhMrFinalize(td.tdr), OK);
}

/** Where runnableTd's private page goes, and what it holds (default: GPA 0x1000, zeros). */
export interface RunnablePage {
  readonly gpa?: number;
  readonly data?: Uint8Array;
}

/**
 * The TD most guest-side tests start from: buildTd(params), one private page (PAGE.ADD), MR.FINALIZE,
 * and the guest handle of its vCPU in 64-bit mode at CPL 0.
 */
export function runnableTd(host: Host, params: Parameters<typeof buildTd>[1] = {}, page: RunnablePage = {}) {
  const td = buildTd(host, params);
  addPage(host, td, page.gpa ?? 0x1000, page.data);
  finalize(host, td);
  return { td, v: guest(host, td.vcpus[0]) };
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

import { getReg, setReg } from "../src/guest-regs.js";
import type { TdVcpu } from "../src/td-vcpu.js";

/** The guest-side handle of a TD's vCPU, in 64-bit mode at CPL 0. */
export function guest(host: Host, tdvpr: number): TdVcpu {
  const v = host.guest.vcpu(tdvpr);
  if (!v) throw new Error("no such vCPU");
  v.regs.longMode64 = true;
  v.regs.cpl = 0;
  return v;
}

export interface CallRegs {
  rcx?: bigint;
  rdx?: bigint;
  r8?: bigint;
  r9?: bigint;
  [reg: string]: bigint | undefined;
}
/** GPR numbers by lower-case name, from x86's GPR_NAMES. */
const REG_INDEX: Record<string, number> = Object.fromEntries(GPR_NAMES.map((name, n) => [name, n]));

/** Runs TDCALL `rax` with the given registers; returns the outcome and a register reader. */
export function tdcall(v: TdVcpu, rax: bigint, regs: CallRegs = {}) {
  setReg(v.regs.gpr, 0, rax);
  for (const [name, value] of Object.entries(regs))
    if (value !== undefined) setReg(v.regs.gpr, REG_INDEX[name], value);
  const outcome = v.tdcall();
  return { outcome, reg: (name: string) => getReg(v.regs.gpr, REG_INDEX[name]), rax: getReg(v.regs.gpr, 0) };
}

/** The module's internal state (invariant checks only). */
export function internals(host: Host) {
  return moduleInternals(host.tdx);
}
