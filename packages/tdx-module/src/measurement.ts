// Measurement: the MRTD stream records (TDH.MEM.PAGE.ADD, TDH.MR.EXTEND), RTMR extend, and
// TDREPORT_STRUCT (spec/tdx-abi.md §8-10).
import type { HashProvider, Sha384Stream } from "./hash.js";
import type { TdState } from "./td-state.js";

const PAGE_ADD_TAG = new TextEncoder().encode("MEM.PAGE.ADD");
const MR_EXTEND_TAG = new TextEncoder().encode("MR.EXTEND");

function writeU64(b: Uint8Array, off: number, v: number): void {
  const lo = v % 0x1_0000_0000;
  const hi = Math.floor(v / 0x1_0000_0000);
  b[off] = lo & 0xff;
  b[off + 1] = (lo >>> 8) & 0xff;
  b[off + 2] = (lo >>> 16) & 0xff;
  b[off + 3] = lo >>> 24;
  b[off + 4] = hi & 0xff;
  b[off + 5] = (hi >>> 8) & 0xff;
  b[off + 6] = (hi >>> 16) & 0xff;
  b[off + 7] = hi >>> 24;
}

/** The 128-byte TDH.MEM.PAGE.ADD record: "MEM.PAGE.ADD" at 0, GPA (LE u64) at 16, zeros. */
export function pageAddRecord(gpa: number, out = new Uint8Array(128)): Uint8Array {
  return record(PAGE_ADD_TAG, gpa, out);
}

/** The 128-byte header of a TDH.MR.EXTEND record ("MR.EXTEND", GPA); the 256 data bytes follow. */
export function mrExtendRecord(gpa: number, out = new Uint8Array(128)): Uint8Array {
  return record(MR_EXTEND_TAG, gpa, out);
}

function record(tag: Uint8Array, gpa: number, out: Uint8Array): Uint8Array {
  out.fill(0);
  out.set(tag, 0);
  writeU64(out, 16, gpa);
  return out;
}

/** Rewrites only the GPA of a record built by pageAddRecord/mrExtendRecord (hot path). */
export function setRecordGpa(block: Uint8Array, gpa: number): Uint8Array {
  writeU64(block, 16, gpa);
  return block;
}

const MRTD_BLOCK = 64 * 1024;
/** First 16 bytes of each record (the tag) as int32 words, in the same byte order as the block view. */
const PAGE_ADD_WORDS = new Int32Array(pageAddRecord(0).buffer, 0, 4);
const MR_EXTEND_WORDS = new Int32Array(mrExtendRecord(0).buffer, 0, 4);

/**
 * The MRTD accumulator of a TD under construction. Records are written straight into one 64 KiB block
 * as int32 words (tag, GPA, zeros: the same bytes pageAddRecord/mrExtendRecord build) and the chunks
 * copied after them; SHA-384 sees a block at a time, so the digest equals hashing record by record while
 * the build pays neither a copy per record nor a hash call per 128 bytes. The GPA is stored as two
 * little-endian words, like every int32 view in the simulator (little-endian hosts).
 */
export class MrtdStream {
  private readonly block = new Uint8Array(MRTD_BLOCK);
  private readonly words = new Int32Array(this.block.buffer);
  private used = 0;

  constructor(private readonly sha: Sha384Stream) {}

  /** The TDH.MEM.PAGE.ADD record of `gpa`. */
  pageAdd(gpa: number): void {
    this.record(PAGE_ADD_WORDS, gpa);
  }

  /**
   * The TDH.MR.EXTEND record of `gpa` and the 256-byte chunk at `gpa`: 64 words of `page` (the 4 KiB
   * page as int32 words) from word `wordOffset`, copied word by word (no view per chunk).
   */
  extend(gpa: number, page: Int32Array, wordOffset: number): void {
    this.record(MR_EXTEND_WORDS, gpa);
    if (this.used + 256 > MRTD_BLOCK) this.flush();
    const w = this.words;
    const to = this.used >> 2;
    // Eight words per iteration: about half the time of one per iteration or of set(subarray) here.
    for (let k = 0; k < 64; k += 8) {
      const d = to + k;
      const o = wordOffset + k;
      w[d] = page[o];
      w[d + 1] = page[o + 1];
      w[d + 2] = page[o + 2];
      w[d + 3] = page[o + 3];
      w[d + 4] = page[o + 4];
      w[d + 5] = page[o + 5];
      w[d + 6] = page[o + 6];
      w[d + 7] = page[o + 7];
    }
    this.used += 256;
  }

  digest(): Uint8Array {
    this.flush();
    return this.sha.digest();
  }

  private record(tag: Int32Array, gpa: number): void {
    if (this.used + 128 > MRTD_BLOCK) this.flush();
    const w = this.words;
    const i = this.used >> 2;
    w[i] = tag[0];
    w[i + 1] = tag[1];
    w[i + 2] = tag[2];
    w[i + 3] = tag[3];
    w[i + 4] = (gpa % 0x1_0000_0000) | 0;
    w[i + 5] = Math.floor(gpa / 0x1_0000_0000) | 0;
    w[i + 6] = 0;
    w[i + 7] = 0;
    for (let k = i + 8; k < i + 32; k += 8) {
      w[k] = 0;
      w[k + 1] = 0;
      w[k + 2] = 0;
      w[k + 3] = 0;
      w[k + 4] = 0;
      w[k + 5] = 0;
      w[k + 6] = 0;
      w[k + 7] = 0;
    }
    this.used += 128;
  }

  private flush(): void {
    if (this.used > 0) this.sha.update(this.block.subarray(0, this.used));
    this.used = 0;
  }
}

/** RTMR[i] := SHA-384(RTMR[i] || data48). */
export function extendRtmr(hash: HashProvider, td: TdState, index: number, data48: Uint8Array): void {
  const cat = new Uint8Array(96);
  cat.set(td.rtmr.subarray(48 * index, 48 * index + 48), 0);
  cat.set(data48, 48);
  td.rtmr.set(hash.sha384(cat), 48 * index);
}

/** TDREPORT_STRUCT byte offsets. */
export const TdReportOffset = {
  REPORTTYPE: 0,
  CPUSVN: 16,
  TEE_TCB_INFO_HASH: 32,
  TEE_INFO_HASH: 80,
  REPORTDATA: 128,
  MAC: 224,
  TEE_TCB_INFO: 256,
  TDINFO: 512,
  TDINFO_ATTRIBUTES: 512,
  TDINFO_XFAM: 520,
  MRTD: 528,
  MRCONFIGID: 576,
  MROWNER: 624,
  MROWNERCONFIG: 672,
  RTMR0: 720,
  SERVTD_HASH: 912,
} as const;
export const TDREPORT_SIZE = 1024;
/** REPORTTYPE.TYPE for TDX. */
export const REPORT_TYPE_TDX = 0x81;

/** Platform values a real CPU supplies; the simulator's are fixed and documented as simulated. */
export interface PlatformIdentity {
  cpuSvn: Uint8Array; // 16
  teeTcbSvn: Uint8Array; // 16
  mrSeam: Uint8Array; // 48
  /** Key of the simulated report MAC (HMAC-SHA-256). */
  reportMacKey: Uint8Array;
}

function putU64(b: Uint8Array, off: number, v: bigint): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(off, v, true);
}

/** TDINFO (512 bytes) as placed at offset 512 of the report. */
export function buildTdInfo(td: TdState): Uint8Array {
  const info = new Uint8Array(512);
  putU64(info, 0, td.attributes);
  putU64(info, 8, td.xfam);
  info.set(td.mrtd, 16);
  info.set(td.mrConfigId, 64);
  info.set(td.mrOwner, 112);
  info.set(td.mrOwnerConfig, 160);
  info.set(td.rtmr, 208);
  info.set(td.servtdHash, 400);
  return info;
}

/**
 * TDREPORT_STRUCT for TDG.MR.REPORT. The MAC is simulated: HMAC-SHA-256 under the simulator's key over
 * REPORTMACSTRUCT bytes 0..223 (real silicon uses a CPU-internal key and algorithm).
 */
export function buildTdReport(
  hash: HashProvider,
  td: TdState,
  reportData: Uint8Array,
  platform: PlatformIdentity,
): Uint8Array {
  const r = new Uint8Array(TDREPORT_SIZE);
  r[0] = REPORT_TYPE_TDX; // subtype 0, version 0 (no service TDs bound)
  r.set(platform.cpuSvn, TdReportOffset.CPUSVN);
  // TEE_TCB_INFO: VALID bitmap marks the qwords holding TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ATTRIBUTES.
  const tcb = new Uint8Array(256);
  putU64(tcb, 0, 0xfffen);
  tcb.set(platform.teeTcbSvn, 8);
  tcb.set(platform.mrSeam, 24);
  r.set(tcb, TdReportOffset.TEE_TCB_INFO);
  const tdInfo = buildTdInfo(td);
  r.set(tdInfo, TdReportOffset.TDINFO);
  r.set(hash.sha384(tcb), TdReportOffset.TEE_TCB_INFO_HASH);
  r.set(hash.sha384(tdInfo), TdReportOffset.TEE_INFO_HASH);
  r.set(reportData.subarray(0, 64), TdReportOffset.REPORTDATA);
  r.set(hash.hmacSha256(platform.reportMacKey, r.subarray(0, TdReportOffset.MAC)), TdReportOffset.MAC);
  return r;
}

/** True when the REPORTMACSTRUCT (first 256 bytes of a report) carries this simulator's MAC. */
export function verifyReportMac(
  hash: HashProvider,
  platform: PlatformIdentity,
  reportMac: Uint8Array,
): boolean {
  const mac = hash.hmacSha256(platform.reportMacKey, reportMac.subarray(0, TdReportOffset.MAC));
  for (let i = 0; i < 32; i++) if (mac[i] !== reportMac[TdReportOffset.MAC + i]) return false;
  return true;
}
