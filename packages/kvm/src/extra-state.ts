// The FPU, XCR and debug-register state of a normal vCPU as KVM's ioctls see it: struct kvm_fpu
// (KVM_GET/SET_FPU) over the core's FXSAVE image, XMM registers and MXCSR; struct kvm_xcrs
// (KVM_GET/SET_XCRS) with __kvm_set_xcr's XCR0 rules; struct kvm_debugregs (KVM_GET/SET_DEBUGREGS).
import { type CpuState, DEFAULT_CONFIG, getDebugRegs, MXCSR_MASK, setDebugRegs } from "@tdxsim/x86";
import { KvmError } from "./errors.js";
import { KVM_MAX_XCRS, type KvmFpu, type KvmXcrs, type KvmXsave, type kvmDebugregs } from "./uapi/structs.js";
import type { VcpuCpuid } from "./vcpu-cpuid.js";

export type KvmDebugregs = ReturnType<typeof kvmDebugregs.zero>;

/** Offset of ST0 in the FXSAVE image (x87Image keeps the image's layout). */
const FXSAVE_ST0 = 32;

/** KVM_GET_FPU: struct kvm_fpu from the core's FXSAVE image, XMM0-15 and MXCSR. */
export function getKvmFpu(st: CpuState): KvmFpu {
  const img = st.x87Image;
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const xmm = new Uint8Array(256);
  new Int32Array(xmm.buffer).set(st.xmm.i32.subarray(0, 64));
  return {
    fpr: img.slice(FXSAVE_ST0, FXSAVE_ST0 + 128),
    fcw: st.fcw,
    fsw: v.getUint16(2, true),
    ftwx: img[4]!,
    pad1: 0,
    last_opcode: v.getUint16(6, true),
    last_ip: v.getBigUint64(8, true),
    last_dp: v.getBigUint64(16, true),
    xmm,
    mxcsr: st.mxcsr,
    pad2: 0,
  };
}

/** KVM_SET_FPU: KVM copies the fields into the FXSAVE image; an MXCSR the CPU would #GP on is refused here. */
export function setKvmFpu(st: CpuState, f: KvmFpu): void {
  if ((f.mxcsr & ~MXCSR_MASK) !== 0) {
    throw new KvmError(
      "EINVAL",
      `kvm_fpu.mxcsr 0x${f.mxcsr.toString(16)} sets reserved bits (MXCSR_MASK 0xffff)`,
      {
        field: "kvm_fpu.mxcsr",
      },
    );
  }
  const img = st.x87Image;
  const v = new DataView(img.buffer, img.byteOffset, img.byteLength);
  img.set(f.fpr.subarray(0, 128), FXSAVE_ST0);
  v.setUint16(2, f.fsw, true);
  img[4] = f.ftwx;
  v.setUint16(6, f.last_opcode, true);
  v.setBigUint64(8, f.last_ip, true);
  v.setBigUint64(16, f.last_dp, true);
  st.fcw = f.fcw;
  st.mxcsr = f.mxcsr;
  const xmm = new Uint8Array(256);
  xmm.set(f.xmm.subarray(0, 256));
  st.xmm.i32.set(new Int32Array(xmm.buffer));
}

/** kvm_vcpu_ioctl_x86_get_xcrs: one XCR, XCR0. */
export function getKvmXcrs(st: CpuState): KvmXcrs {
  const xcrs = [{ xcr: 0, reserved: 0, value: BigInt(st.xcr0 >>> 0) }];
  return { nr_xcrs: 1, flags: 0, xcrs, padding: [] };
}

/**
 * kvm_vcpu_ioctl_x86_set_xcrs: nr_xcrs > 16 or flags → EINVAL; the first XCR0 entry goes
 * through __kvm_set_xcr: FP must be set, no bit beyond what the vCPU's CPUID 0xd.0 offers (and
 * the core supports) → else EINVAL. Entries for other XCRs are ignored, as KVM does.
 */
export function setKvmXcrs(st: CpuState, x: KvmXcrs, cpuid: VcpuCpuid): void {
  if (x.nr_xcrs > KVM_MAX_XCRS || x.flags !== 0) {
    throw new KvmError(
      "EINVAL",
      `kvm_xcrs: nr_xcrs ${x.nr_xcrs} (max ${KVM_MAX_XCRS}) / flags ${x.flags} (must be 0)`,
      {
        field: "kvm_xcrs",
      },
    );
  }
  const entry = x.xcrs.slice(0, x.nr_xcrs).find((e) => e.xcr === 0);
  if (!entry) return;
  const leaf = cpuid.find(0xd, 0);
  const guestSupported = leaf
    ? ((BigInt(leaf.edx >>> 0) << 32n) | BigInt(leaf.eax >>> 0)) & BigInt(DEFAULT_CONFIG.xcr0Supported)
    : 0n;
  const v = entry.value;
  const bad =
    (v & 1n) === 0n
      ? "XCR0.FP (bit 0) must be set"
      : (v & ~(guestSupported | 1n)) !== 0n
        ? `XCR0 0x${v.toString(16)} has bits the vCPU's CPUID 0xd.0 does not offer (0x${guestSupported.toString(16)})`
        : undefined;
  if (bad) throw new KvmError("EINVAL", `kvm_xcrs: ${bad}`, { field: "kvm_xcrs.xcrs.value" });
  st.xcr0 = Number(v);
}

/** KVM_GET_DEBUGREGS: DR0-3, DR6, DR7; flags and reserved 0. */
export function getKvmDebugregs(st: CpuState): KvmDebugregs {
  const d = getDebugRegs(st);
  return { db: [...d.db], dr6: d.dr6, dr7: d.dr7, flags: 0n, reserved: new Array(9).fill(0n) };
}

/** kvm_vcpu_ioctl_x86_set_debugregs: flags must be 0, DR6/DR7 bits 63:32 clear. */
export function setKvmDebugregs(st: CpuState, r: KvmDebugregs): void {
  if (r.flags !== 0n)
    throw new KvmError("EINVAL", `kvm_debugregs.flags 0x${r.flags.toString(16)} must be 0`, {
      field: "kvm_debugregs.flags",
    });
  for (const f of ["dr6", "dr7"] as const) {
    if (r[f] >> 32n !== 0n)
      throw new KvmError("EINVAL", `kvm_debugregs.${f} 0x${r[f].toString(16)} has bits 63:32 set`, {
        field: `kvm_debugregs.${f}`,
      });
  }
  setDebugRegs(st, { db: [r.db[0]!, r.db[1]!, r.db[2]!, r.db[3]!], dr6: r.dr6, dr7: r.dr7 });
}

// ---- KVM_GET/SET_XSAVE: the standard-format XSAVE image of the x87 and SSE components ----

const XSAVE_FCW = 0;
const XSAVE_MXCSR = 24;
const XSAVE_MXCSR_MASK = 28;
const XSAVE_XMM = 160;
const XSAVE_HEADER = 512;
const XSAVE_HEADER_END = 576;
const XFEATURE_FP = 1n;
const XFEATURE_SSE = 2n;

function regionBytes(x: KvmXsave): Uint8Array {
  const bytes = new Uint8Array(4096);
  const v = new DataView(bytes.buffer);
  x.region.forEach((w, i) => {
    v.setUint32(4 * i, w >>> 0, true);
  });
  return bytes;
}

/** KVM_GET_XSAVE: legacy region (FCW ... ST0-7, XMM0-15), header with XSTATE_BV = x87 | SSE. */
export function getKvmXsave(st: CpuState): KvmXsave {
  const img = new Uint8Array(4096);
  const v = new DataView(img.buffer);
  img.set(st.x87Image.subarray(0, 24), 0);
  img.set(st.x87Image.subarray(FXSAVE_ST0, 160), FXSAVE_ST0);
  v.setUint16(XSAVE_FCW, st.fcw, true);
  v.setUint32(XSAVE_MXCSR, st.mxcsr >>> 0, true);
  v.setUint32(XSAVE_MXCSR_MASK, MXCSR_MASK, true);
  img.set(st.xmm.u8.subarray(0, 256), XSAVE_XMM);
  // the core keeps no init-state tracking (XINUSE): both components count as in use
  v.setBigUint64(XSAVE_HEADER, XFEATURE_FP | XFEATURE_SSE, true);
  return { region: Array.from({ length: 1024 }, (_, i) => v.getUint32(4 * i, true)) };
}

/**
 * KVM_SET_XSAVE (copy_uabi_to_xstate): XSTATE_BV within the vCPU's user_xfeatures (CPUID 0xd.0 |
 * x87 | SSE), XCOMP_BV 0 (standard form), reserved header bytes 0, MXCSR within MXCSR_MASK when
 * SSE is given — else EINVAL. Components absent from XSTATE_BV are put in their initial state
 * (MXCSR is kept, as the kernel leaves it in the buffer XRSTOR reloads).
 */
export function setKvmXsave(st: CpuState, x: KvmXsave, cpuid: VcpuCpuid): void {
  const img = regionBytes(x);
  const v = new DataView(img.buffer);
  const xstateBv = v.getBigUint64(XSAVE_HEADER, true);
  const xcompBv = v.getBigUint64(XSAVE_HEADER + 8, true);
  const leaf = cpuid.find(0xd, 0);
  const userXfeatures =
    (leaf ? (BigInt(leaf.edx >>> 0) << 32n) | BigInt(leaf.eax >>> 0) : 0n) | XFEATURE_FP | XFEATURE_SSE;
  const bad = (why: string, field: string) =>
    new KvmError("EINVAL", `kvm_xsave: ${why}`, { field: `kvm_xsave.${field}` });
  if ((xstateBv & ~userXfeatures) !== 0n)
    throw bad(
      `XSTATE_BV 0x${xstateBv.toString(16)} names components beyond 0x${userXfeatures.toString(16)}`,
      "xstate_bv",
    );
  if ((xstateBv & ~(XFEATURE_FP | XFEATURE_SSE)) !== 0n)
    throw bad(`XSTATE_BV 0x${xstateBv.toString(16)}: the core has only x87 and SSE state`, "xstate_bv");
  if (xcompBv !== 0n) throw bad("XCOMP_BV must be 0 (standard format)", "xcomp_bv");
  if (img.subarray(XSAVE_HEADER + 16, XSAVE_HEADER_END).some((b) => b !== 0))
    throw bad("reserved header bytes must be 0", "header.reserved");
  const mxcsr = v.getUint32(XSAVE_MXCSR, true);
  if (xstateBv & XFEATURE_SSE && (mxcsr & ~MXCSR_MASK) !== 0)
    throw bad(`MXCSR 0x${mxcsr.toString(16)} sets reserved bits`, "mxcsr");
  if (xstateBv & XFEATURE_FP) {
    st.fcw = v.getUint16(XSAVE_FCW, true);
    st.x87Image.set(img.subarray(2, 24), 2);
    st.x87Image.set(img.subarray(FXSAVE_ST0, 160), FXSAVE_ST0);
  } else {
    st.fcw = 0x37f;
    st.x87Image.fill(0);
  }
  if (xstateBv & XFEATURE_SSE) {
    st.xmm.u8.set(img.subarray(XSAVE_XMM, XSAVE_XMM + 256));
    st.mxcsr = mxcsr;
  } else st.xmm.u8.fill(0);
}
