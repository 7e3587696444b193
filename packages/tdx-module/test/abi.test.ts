import { describe, expect, it } from "vitest";
import {
  compactStatus,
  decodeTdxStatus,
  isSuccess,
  OperandId,
  S,
  SeamcallLeaf,
  seamcallLeafName,
  statusHi,
  statusLo,
  statusToBigInt,
  TdcallLeaf,
  TdxStatus,
  tdcallLeafName,
} from "../src/index.js";

describe("status codes", () => {
  it("names statuses with their operand", () => {
    expect(decodeTdxStatus(0xc000010000000001n)).toBe("TDX_OPERAND_INVALID (RCX)");
    expect(decodeTdxStatus(0x8000020000000000n + 147n)).toBe("TDX_OPERAND_BUSY (SEPT_ENTRY)");
    expect(decodeTdxStatus(0n)).toBe("TDX_SUCCESS");
    expect(decodeTdxStatus(0x00000b0a00000001n)).toBe("TDX_PAGE_ALREADY_ACCEPTED (RCX)");
    expect(decodeTdxStatus(0xc0000b0000000000n + 0x10000n)).toBe("TDX_EPT_WALK_FAILED (0x10000)");
    expect(decodeTdxStatus(0xdead000000000000n)).toMatch(/^unknown TDX status 0xdead/);
  });

  it("keeps the exact 64-bit values through the compact form", () => {
    for (const [name, v] of Object.entries(TdxStatus)) {
      const c = compactStatus(v);
      expect(statusToBigInt(c), name).toBe(v);
      expect(statusToBigInt(S[name as keyof typeof S] + OperandId.R9), name).toBe(v + 9n);
      expect(BigInt(statusHi(c)), name).toBe(v >> 32n);
      expect(statusLo(c + 5)).toBe(5);
    }
    expect(TdxStatus.TDX_OPERAND_INVALID + BigInt(OperandId.RAX)).toBe(0xc000010000000000n);
    expect(TdxStatus.TDX_NO_VALID_VE_INFO).toBe(0xc000070400000000n);
  });

  it("classifies success and informational codes", () => {
    expect(isSuccess(TdxStatus.TDX_PAGE_ALREADY_ACCEPTED)).toBe(true);
    expect(isSuccess(TdxStatus.TDX_OPERAND_INVALID)).toBe(false);
    expect(isSuccess(S.TDX_KEY_CONFIGURED)).toBe(true);
    expect(isSuccess(S.TDX_TD_FATAL)).toBe(false);
  });
});

describe("leaf numbers", () => {
  it("matches tdx_1.5 tdx_api_defs.h", () => {
    expect(SeamcallLeaf.TDH_VP_ENTER).toBe(0);
    expect(SeamcallLeaf.TDH_MEM_PAGE_ADD).toBe(2);
    expect(SeamcallLeaf.TDH_MR_EXTEND).toBe(16);
    expect(SeamcallLeaf.TDH_MNG_INIT).toBe(21);
    expect(SeamcallLeaf.TDH_PHYMEM_PAGE_RECLAIM).toBe(28);
    expect(SeamcallLeaf.TDH_MEM_TRACK).toBe(38);
    expect(SeamcallLeaf.TDH_VP_WR).toBe(43);
    expect(TdcallLeaf.TDG_MEM_PAGE_ACCEPT).toBe(6);
    expect(TdcallLeaf.TDG_SYS_RD).toBe(11);
    expect(seamcallLeafName(2)).toBe("TDH.MEM.PAGE.ADD");
    expect(tdcallLeafName(6)).toBe("TDG.MEM.PAGE.ACCEPT");
    expect(seamcallLeafName(999)).toBe("SEAMCALL leaf 999");
  });
});
