// The SEAMCALLs that create a TD with one vCPU on the TDX module alone, as KVM issues them
// (tdx_td_init / tdx_vcpu_init): shared by the benchmarks that time the module without KVM.
import type { HostPhysicalMemory } from "@tdxsim/memory";
import {
  buildTdParams,
  MIN_NUM_TDCS_PAGES,
  MIN_NUM_TDVPS_PAGES,
  type SeamcallOutput,
  type TdxModule,
} from "@tdxsim/tdx-module";

/** The HKID the benchmarks' TDs use (one TD per TdxModule). */
const BENCH_HKID = 2;

function check(seamcall: string, out: SeamcallOutput): void {
  if (out.status !== 0n) throw new Error(`${seamcall} failed: status 0x${out.status.toString(16)}`);
}

/**
 * TDH.MNG.CREATE, MNG.KEY.CONFIG, MNG.ADDCX of the TDCS pages, MNG.INIT (one vCPU), VP.CREATE,
 * VP.ADDCX of the TDVPS pages after the TDVPR, VP.INIT:
 * a TD ready for SEPT.ADD and PAGE.ADD, its pages allocated from `memory`.
 */
export function createModuleTd(tdx: TdxModule, memory: HostPhysicalMemory): { tdr: number; tdvpr: number } {
  const tdr = memory.allocPage();
  check("TDH.MNG.CREATE", tdx.tdhMngCreate(tdr, BENCH_HKID));
  check("TDH.MNG.KEY.CONFIG", tdx.tdhMngKeyConfig(tdr));
  for (let i = 0; i < MIN_NUM_TDCS_PAGES; i++)
    check("TDH.MNG.ADDCX", tdx.tdhMngAddcx(memory.allocPage(), tdr));
  const params = memory.allocPage();
  memory.host.writeBytes(params, buildTdParams({ maxVcpus: 1 }));
  check("TDH.MNG.INIT", tdx.tdhMngInit(tdr, params));
  const tdvpr = memory.allocPage();
  check("TDH.VP.CREATE", tdx.tdhVpCreate(tdvpr, tdr));
  for (let i = 0; i < MIN_NUM_TDVPS_PAGES - 1; i++)
    check("TDH.VP.ADDCX", tdx.tdhVpAddcx(memory.allocPage(), tdvpr));
  check("TDH.VP.INIT", tdx.tdhVpInit(tdvpr, 0n));
  return { tdr, tdvpr };
}
