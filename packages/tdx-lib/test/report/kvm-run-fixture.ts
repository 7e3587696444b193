// Builds kvm_run images byte by byte at the offsets of include/uapi/linux/kvm.h, written
// out literally here (not taken from src) so a wrong constant in src shows up.

export const RUN_SIZE = 2 * 4096; // the run page and the PIO data page (KVM_PIO_PAGE_OFFSET 1)

function blank(exitReason: number): { run: Uint8Array; view: DataView } {
  const run = new Uint8Array(RUN_SIZE);
  const view = new DataView(run.buffer);
  view.setUint32(8, exitReason, true);
  return { run, view };
}

export function ioRun(direction: number, size: number, port: number, data: number, count = 1): Uint8Array {
  const { run, view } = blank(2);
  view.setUint8(32, direction);
  view.setUint8(33, size);
  view.setUint16(34, port, true);
  view.setUint32(36, count, true);
  view.setBigUint64(40, 4096n, true);
  for (let i = 0; i < size; i++) run[4096 + i] = (data >>> (8 * i)) & 0xff;
  return run;
}

export function mmioRun(physAddr: bigint, len: number, isWrite: boolean, data = 0n): Uint8Array {
  const { run, view } = blank(6);
  view.setBigUint64(32, physAddr, true);
  view.setBigUint64(40, data, true);
  view.setUint32(48, len, true);
  view.setUint8(52, isWrite ? 1 : 0);
  return run;
}

export function systemEventRun(type: number, data: readonly bigint[]): Uint8Array {
  const { run, view } = blank(24);
  view.setUint32(32, type, true);
  view.setUint32(36, data.length, true);
  data.forEach((d, i) => {
    view.setBigUint64(40 + 8 * i, d, true);
  });
  return run;
}

/** ReportFatalError as mainline KVM delivers it: the 16 GPRs, R12 error code, R13 data, RCX mask. */
export function fatalRun(
  errorCode: bigint,
  data = 0n,
  extra: Partial<Record<number, bigint>> = {},
): Uint8Array {
  const gprs = new Array<bigint>(16).fill(0n);
  gprs[1] = 0xfc00n; // RCX: R10..R15 exposed, as __tdx_hypercall does
  gprs[11] = 0x10003n;
  gprs[12] = errorCode;
  gprs[13] = data;
  for (const [index, value] of Object.entries(extra)) gprs[Number(index)] = value!;
  return systemEventRun(7, gprs);
}

export function otherRun(exitReason: number): Uint8Array {
  return blank(exitReason).run;
}

export function hypercallRun(nr: bigint, args: readonly bigint[]): Uint8Array {
  const { run, view } = blank(3);
  view.setBigUint64(32, nr, true);
  args.forEach((a, i) => {
    view.setBigUint64(40 + 8 * i, a, true);
  });
  view.setBigUint64(96, 1n, true); // KVM_EXIT_HYPERCALL_LONG_MODE
  return run;
}

export function memoryFaultRun(flags: bigint, gpa: bigint, size: bigint): Uint8Array {
  const { run, view } = blank(39);
  view.setBigUint64(32, flags, true);
  view.setBigUint64(40, gpa, true);
  view.setBigUint64(48, size, true);
  return run;
}

/** Rewrites `run` in place as a 4-byte OUT (what the next KVM_RUN does to the same mapping). */
export function overwriteWithIo(run: Uint8Array, port: number, data: number): void {
  run.set(ioRun(1, 4, port, data));
}

/** KVM_EXIT_X86_RDMSR (29) / _WRMSR (30): msr.error at 32, reason at 40, index at 44, data at 48. */
export function msrRun(write: boolean, index: number, reason: number, data = 0n): Uint8Array {
  const { run, view } = blank(write ? 30 : 29);
  view.setUint32(40, reason, true);
  view.setUint32(44, index, true);
  view.setBigUint64(48, data, true);
  return run;
}
