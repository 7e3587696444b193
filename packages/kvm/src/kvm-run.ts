// struct kvm_run as the vCPU's shared mapping: one Uint8Array of KVM_GET_VCPU_MMAP_SIZE bytes
// (kvm_run page, PIO data page, coalesced-MMIO page) that the VMM and "the kernel" both read
// and write, exactly as after mmap(vcpu_fd). Typed accessors read and write the real bytes at
// the real offsets; small fields are numbers, u64 fields bigints, except io.data_offset which
// is read as a number on the hot path (it is always 4096 here).
import {
  KVM_RUN_HYPERCALL_ARGS,
  KVM_RUN_INTERNAL_DATA,
  KVM_RUN_SYSTEM_EVENT_DATA,
  KVM_RUN_TDX_UNKNOWN_DATA,
  KVM_VCPU_MMAP_SIZE,
  KVM_RUN_OFFSETS as O,
} from "./uapi/kvm-run-layout.js";

const U = O.exit_union;
const UNION_END = U + 256;

class RunFields {
  constructor(
    protected readonly view: DataView,
    protected readonly bytes: Uint8Array,
  ) {}
  protected u8(at: number): number {
    return this.bytes[at]!;
  }
  protected setU8(at: number, v: number): void {
    this.bytes[at] = v;
  }
  protected u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  protected setU16(at: number, v: number): void {
    this.view.setUint16(at, v, true);
  }
  protected u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  protected setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  protected u64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }
  protected setU64(at: number, v: bigint): void {
    this.view.setBigUint64(at, BigInt.asUintN(64, v), true);
  }
  protected u64Array(at: number, n: number): bigint[] {
    return Array.from({ length: n }, (_, i) => this.u64(at + 8 * i));
  }
  protected setU64Array(at: number, n: number, values: readonly bigint[]): void {
    if (values.length > n) throw new RangeError(`at most ${n} u64 values fit here, got ${values.length}`);
    for (let i = 0; i < values.length; i++) this.setU64(at + 8 * i, values[i]!);
  }
}

/** kvm_run.io (KVM_EXIT_IO) */
export class KvmRunIo extends RunFields {
  get direction(): number {
    return this.u8(O["io.direction"]);
  }
  set direction(v: number) {
    this.setU8(O["io.direction"], v);
  }
  get size(): number {
    return this.u8(O["io.size"]);
  }
  set size(v: number) {
    this.setU8(O["io.size"], v);
  }
  get port(): number {
    return this.u16(O["io.port"]);
  }
  set port(v: number) {
    this.setU16(O["io.port"], v);
  }
  get count(): number {
    return this.u32(O["io.count"]);
  }
  set count(v: number) {
    this.setU32(O["io.count"], v);
  }
  /** data_offset as a number (low 32 bits + high 32 bits; the kernel always uses 4096). */
  get dataOffset(): number {
    return this.u32(O["io.data_offset"]) + this.u32(O["io.data_offset"] + 4) * 2 ** 32;
  }
  set dataOffset(v: number) {
    this.setU32(O["io.data_offset"], v >>> 0);
    this.setU32(O["io.data_offset"] + 4, Math.floor(v / 2 ** 32));
  }
}

/** kvm_run.mmio (KVM_EXIT_MMIO) */
export class KvmRunMmio extends RunFields {
  get physAddr(): bigint {
    return this.u64(O["mmio.phys_addr"]);
  }
  set physAddr(v: bigint) {
    this.setU64(O["mmio.phys_addr"], v);
  }
  /** The 8-byte data[] array, as a live view. */
  get data(): Uint8Array {
    return this.bytes.subarray(O["mmio.data"], O["mmio.data"] + 8);
  }
  get len(): number {
    return this.u32(O["mmio.len"]);
  }
  set len(v: number) {
    this.setU32(O["mmio.len"], v);
  }
  get isWrite(): number {
    return this.u8(O["mmio.is_write"]);
  }
  set isWrite(v: number) {
    this.setU8(O["mmio.is_write"], v);
  }
}

/** kvm_run.hypercall (KVM_EXIT_HYPERCALL) */
export class KvmRunHypercall extends RunFields {
  get nr(): bigint {
    return this.u64(O["hypercall.nr"]);
  }
  set nr(v: bigint) {
    this.setU64(O["hypercall.nr"], v);
  }
  get args(): bigint[] {
    return this.u64Array(O["hypercall.args"], KVM_RUN_HYPERCALL_ARGS);
  }
  set args(v: readonly bigint[]) {
    this.setU64Array(O["hypercall.args"], KVM_RUN_HYPERCALL_ARGS, v);
  }
  get ret(): bigint {
    return this.u64(O["hypercall.ret"]);
  }
  set ret(v: bigint) {
    this.setU64(O["hypercall.ret"], v);
  }
  get flags(): bigint {
    return this.u64(O["hypercall.flags"]);
  }
  set flags(v: bigint) {
    this.setU64(O["hypercall.flags"], v);
  }
}

/** kvm_run.system_event (KVM_EXIT_SYSTEM_EVENT) */
export class KvmRunSystemEvent extends RunFields {
  get type(): number {
    return this.u32(O["system_event.type"]);
  }
  set type(v: number) {
    this.setU32(O["system_event.type"], v);
  }
  get ndata(): number {
    return this.u32(O["system_event.ndata"]);
  }
  set ndata(v: number) {
    this.setU32(O["system_event.ndata"], v);
  }
  /** data[0..ndata) (ndata clamped to 16). */
  get data(): bigint[] {
    return this.u64Array(O["system_event.data"], Math.min(this.ndata, KVM_RUN_SYSTEM_EVENT_DATA));
  }
  set data(v: readonly bigint[]) {
    this.setU64Array(O["system_event.data"], KVM_RUN_SYSTEM_EVENT_DATA, v);
  }
}

/** kvm_run.internal (KVM_EXIT_INTERNAL_ERROR) */
export class KvmRunInternal extends RunFields {
  get suberror(): number {
    return this.u32(O["internal.suberror"]);
  }
  set suberror(v: number) {
    this.setU32(O["internal.suberror"], v);
  }
  get ndata(): number {
    return this.u32(O["internal.ndata"]);
  }
  set ndata(v: number) {
    this.setU32(O["internal.ndata"], v);
  }
  get data(): bigint[] {
    return this.u64Array(O["internal.data"], Math.min(this.ndata, KVM_RUN_INTERNAL_DATA));
  }
  set data(v: readonly bigint[]) {
    this.setU64Array(O["internal.data"], KVM_RUN_INTERNAL_DATA, v);
  }
}

/** kvm_run.msr (KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR) */
export class KvmRunMsr extends RunFields {
  /** user → kernel: non-zero makes the guest's RDMSR/WRMSR fail (#GP, or INVALID_OPERAND in a TD) */
  get error(): number {
    return this.u8(O["msr.error"]);
  }
  set error(v: number) {
    this.setU8(O["msr.error"], v);
  }
  get reason(): number {
    return this.u32(O["msr.reason"]);
  }
  set reason(v: number) {
    this.setU32(O["msr.reason"], v);
  }
  get index(): number {
    return this.u32(O["msr.index"]);
  }
  set index(v: number) {
    this.setU32(O["msr.index"], v);
  }
  get data(): bigint {
    return this.u64(O["msr.data"]);
  }
  set data(v: bigint) {
    this.setU64(O["msr.data"], v);
  }
}

/** kvm_run.memory_fault (KVM_EXIT_MEMORY_FAULT) */
export class KvmRunMemoryFault extends RunFields {
  get flags(): bigint {
    return this.u64(O["memory_fault.flags"]);
  }
  set flags(v: bigint) {
    this.setU64(O["memory_fault.flags"], v);
  }
  get gpa(): bigint {
    return this.u64(O["memory_fault.gpa"]);
  }
  set gpa(v: bigint) {
    this.setU64(O["memory_fault.gpa"], v);
  }
  get size(): bigint {
    return this.u64(O["memory_fault.size"]);
  }
  set size(v: bigint) {
    this.setU64(O["memory_fault.size"], v);
  }
}

/** kvm_run.tdx (KVM_EXIT_TDX): flags, nr, then the union whose first word is always `ret`. */
export class KvmRunTdx extends RunFields {
  get flags(): bigint {
    return this.u64(O["tdx.flags"]);
  }
  set flags(v: bigint) {
    this.setU64(O["tdx.flags"], v);
  }
  get nr(): bigint {
    return this.u64(O["tdx.nr"]);
  }
  set nr(v: bigint) {
    this.setU64(O["tdx.nr"], v);
  }
  get ret(): bigint {
    return this.u64(O["tdx.ret"]);
  }
  set ret(v: bigint) {
    this.setU64(O["tdx.ret"], v);
  }
  /** The five words after ret: unknown.data[5]; get_quote.{gpa,size}; get_tdvmcall_info.{leaf,r11..r14}; setup_event_notify.vector. */
  get data(): bigint[] {
    return this.u64Array(O["tdx.data"], KVM_RUN_TDX_UNKNOWN_DATA);
  }
  set data(v: readonly bigint[]) {
    this.setU64Array(O["tdx.data"], KVM_RUN_TDX_UNKNOWN_DATA, v);
  }
}

/** kvm_run.fail_entry (KVM_EXIT_FAIL_ENTRY) */
export class KvmRunFailEntry extends RunFields {
  get hardwareEntryFailureReason(): bigint {
    return this.u64(O["fail_entry.hardware_entry_failure_reason"]);
  }
  set hardwareEntryFailureReason(v: bigint) {
    this.setU64(O["fail_entry.hardware_entry_failure_reason"], v);
  }
  get cpu(): number {
    return this.u32(O["fail_entry.cpu"]);
  }
  set cpu(v: number) {
    this.setU32(O["fail_entry.cpu"], v);
  }
}

/** kvm_run.ex (KVM_EXIT_EXCEPTION) */
export class KvmRunEx extends RunFields {
  get exception(): number {
    return this.u32(O["ex.exception"]);
  }
  set exception(v: number) {
    this.setU32(O["ex.exception"], v);
  }
  get errorCode(): number {
    return this.u32(O["ex.error_code"]);
  }
  set errorCode(v: number) {
    this.setU32(O["ex.error_code"], v);
  }
}

export class KvmRun extends RunFields {
  /** The whole vCPU mapping (what mmap(vcpu_fd) returns). */
  override readonly bytes: Uint8Array;
  readonly io: KvmRunIo;
  readonly mmio: KvmRunMmio;
  readonly hypercall: KvmRunHypercall;
  readonly systemEvent: KvmRunSystemEvent;
  readonly internal: KvmRunInternal;
  readonly msr: KvmRunMsr;
  readonly memoryFault: KvmRunMemoryFault;
  readonly tdx: KvmRunTdx;
  readonly failEntry: KvmRunFailEntry;
  readonly ex: KvmRunEx;

  constructor(bytes: Uint8Array = new Uint8Array(KVM_VCPU_MMAP_SIZE)) {
    if (bytes.length < KVM_VCPU_MMAP_SIZE) {
      throw new RangeError(`a vCPU mapping is ${KVM_VCPU_MMAP_SIZE} bytes, got ${bytes.length}`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    super(view, bytes);
    this.bytes = bytes;
    this.io = new KvmRunIo(view, bytes);
    this.mmio = new KvmRunMmio(view, bytes);
    this.hypercall = new KvmRunHypercall(view, bytes);
    this.systemEvent = new KvmRunSystemEvent(view, bytes);
    this.internal = new KvmRunInternal(view, bytes);
    this.msr = new KvmRunMsr(view, bytes);
    this.memoryFault = new KvmRunMemoryFault(view, bytes);
    this.tdx = new KvmRunTdx(view, bytes);
    this.failEntry = new KvmRunFailEntry(view, bytes);
    this.ex = new KvmRunEx(view, bytes);
  }

  get requestInterruptWindow(): number {
    return this.u8(O.request_interrupt_window);
  }
  set requestInterruptWindow(v: number) {
    this.setU8(O.request_interrupt_window, v);
  }
  get immediateExit(): number {
    return this.u8(O.immediate_exit);
  }
  set immediateExit(v: number) {
    this.setU8(O.immediate_exit, v);
  }
  get exitReason(): number {
    return this.u32(O.exit_reason);
  }
  set exitReason(v: number) {
    this.setU32(O.exit_reason, v);
  }
  get readyForInterruptInjection(): number {
    return this.u8(O.ready_for_interrupt_injection);
  }
  set readyForInterruptInjection(v: number) {
    this.setU8(O.ready_for_interrupt_injection, v);
  }
  get ifFlag(): number {
    return this.u8(O.if_flag);
  }
  set ifFlag(v: number) {
    this.setU8(O.if_flag, v);
  }
  get flags(): number {
    return this.u16(O.flags);
  }
  set flags(v: number) {
    this.setU16(O.flags, v);
  }
  get cr8(): bigint {
    return this.u64(O.cr8);
  }
  set cr8(v: bigint) {
    this.setU64(O.cr8, v);
  }
  get apicBase(): bigint {
    return this.u64(O.apic_base);
  }
  set apicBase(v: bigint) {
    this.setU64(O.apic_base, v);
  }

  /** Zero the 256-byte exit union (the kernel overwrites the member it reports). */
  clearExitUnion(): void {
    this.bytes.fill(0, U, UNION_END);
  }

  /** The PIO data: `length` bytes at io.data_offset (normally KVM_PIO_DATA_OFFSET), a live view. */
  pioData(length: number): Uint8Array {
    const at = this.io.dataOffset;
    if (at + length > this.bytes.length) {
      throw new RangeError(`io.data_offset ${at} + ${length} is outside the vCPU mapping`);
    }
    return this.bytes.subarray(at, at + length);
  }
}
