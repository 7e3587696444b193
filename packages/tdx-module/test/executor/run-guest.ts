// Runs a 64-bit snippet in a TD on the x86 core and collects what its handlers report: VE_INFO for a
// #VE, the vector for #GP/#UD, and the snippet's own TDVMCALL reports.
import {
  ExitReason,
  GUEST_IMAGE_BASE,
  GUEST_IMAGE_PAGES,
  getReg,
  longModeGuest,
  type SharedEpt,
  statusToBigInt,
  TdCpuExecutor,
  tdvmcallOut,
} from "../../src/index.js";
import { addPage, buildTd, finalize, makeHost } from "../helpers.js";

export const SHARED = 2 ** 47;

/** One report from the guest: TDVMCALL IO OUT `port` with `value` (R14, R15). */
export type Report = [port: number, value: bigint];

/**
 * Runs `code` (64-bit) in a TD whose #VE handler reports VE_INFO (ports 0x10 reason, 0x11
 * qualification, 0x12 length, 0x13 GPA) and whose #GP / #UD handlers report the vector on port
 * 0x14; collects the reports until the guest spins or exits otherwise.
 */
export function run(
  code: string,
  sharedEpt?: (host: ReturnType<typeof makeHost>) => SharedEpt,
  params: Parameters<typeof buildTd>[1] = {},
) {
  const image = longModeGuest(`
${code}
  ${tdvmcallOut(0x1f, "rax")}
spin: jmp spin
ve_handler:
  mov eax, 3 ; tdcall
  mov rbx, rcx ; mov rsi, rdx ; mov rdi, r10 ; mov rbp, r9
  ${tdvmcallOut(0x10, "rbx")}
  ${tdvmcallOut(0x11, "rsi")}
  ${tdvmcallOut(0x12, "rdi")}
  ${tdvmcallOut(0x13, "rbp")}
  jmp spin
gp_handler:
  mov ebx, 13
  ${tdvmcallOut(0x14, "rbx")}
  jmp spin
ud_handler:
  mov ebx, 6
  ${tdvmcallOut(0x14, "rbx")}
  jmp spin`);
  const host = makeHost();
  const td = buildTd(host, params);
  for (let i = 0; i < GUEST_IMAGE_PAGES; i++)
    addPage(host, td, GUEST_IMAGE_BASE + i * 4096, image.subarray(i * 4096, (i + 1) * 4096));
  finalize(host, td);
  if (sharedEpt) host.tdx.setSharedEpt(td.tdr, sharedEpt(host));
  host.tdx.setGuestExecutor(new TdCpuExecutor());
  host.tdx.enterBudget = 20_000;
  const reports: Report[] = [];
  const out = new Int32Array(32);
  let hostGpr: Int32Array | undefined;
  for (let i = 0; i < 16; i++) {
    const status = statusToBigInt(host.tdx.enter(td.vcpus[0]!, hostGpr, out));
    if (status !== BigInt(ExitReason.TDCALL)) return { reports, status, out };
    reports.push([Number(getReg(out, 14)), getReg(out, 15)]);
    hostGpr = new Int32Array(32);
  }
  throw new Error("the guest did not stop reporting");
}

/** The #VE reports of a run: [reason, qualification, length]. */
export function veInfo(reports: Report[]): bigint[] {
  return reports.filter(([p]) => p >= 0x10 && p <= 0x12).map(([, v]) => v);
}
