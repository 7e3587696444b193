// Which VEX-encoded opcodes exist in maps 0F38 (map 2) and 0F3A (map 3), and the AMD XOP maps
// 8, 9 and 0A: Intel SDM Vol. 2 (AVX, AVX2, FMA, F16C, BMI1/2, AES/VAES, VPCLMULQDQ, GFNI,
// AVX-VNNI(-INT8/-INT16), AVX-IFMA, AVX-NE-CONVERT, CMPccXADD, AMX, SHA512, SM3, SM4, AVX-512
// opmask shifts) and AMD APM Vol. 4 (FMA4, XOP, TBM, LWP, VPERMIL2PS/PD). Format: opcode-rows.ts.
import { buildTable } from "./opcode-rows.js";

export const VEX_MAP2 = buildTable([
  // SSSE3/SSE4 integer ops and their AVX2 256-bit forms
  "66 00-0b WIG LIG",
  "66 0c,0d W0 LIG", // VPERMILPS/PD (variable)
  "66 0e,0f W0 LIG nv", // VTESTPS/PD
  "66 13 W0 LIG nv", // VCVTPH2PS
  "66 16 W0 L1", // VPERMPS
  "66 17 WIG LIG nv", // VPTEST
  "66 18 W0 LIG nv", // VBROADCASTSS
  "66 19 W0 L1 nv", // VBROADCASTSD
  "66 1a W0 L1 nv m", // VBROADCASTF128
  "66 1c-1e WIG LIG nv", // VPABSB/W/D
  "66 20-25 WIG LIG nv", // VPMOVSX*
  "66 28,29,2b WIG LIG",
  "66 2a WIG LIG nv m", // VMOVNTDQA
  "66 2c-2f W0 LIG m", // VMASKMOVPS/PD
  "66 30-35 WIG LIG nv", // VPMOVZX*
  "66 36 W0 L1", // VPERMD
  "66 37-40 WIG LIG",
  "66 41 WIG L0 nv", // VPHMINPOSUW
  "66 45 WIG LIG", // VPSRLVD/Q
  "66 46 W0 LIG", // VPSRAVD
  "66 47 WIG LIG", // VPSLLVD/Q
  // AMX (64-bit mode only): LDTILECFG/STTILECFG, TILERELEASE, TILEZERO, TILELOADD(T1)/TILESTORED,
  // TDPBF16PS, TDPFP16PS, TDPB[SU][SU]D, TCMMIMFP16PS/TCMMRLFP16PS
  "NP 49 W0 L0 nv m /0 64", // LDTILECFG (no tile operand)
  "66 49 W0 L0 nv m /0 64", // STTILECFG
  "NP 49 W0 L0 nv r /0 rm0 64 tmm", // TILERELEASE
  "F2 49 W0 L0 nv r rm0 64 tmm", // TILEZERO
  "F2 4b W0 L0 nv m sib 64 tmm",
  "66 4b W0 L0 nv m sib 64 tmm",
  "F3 4b W0 L0 nv m sib 64 tmm",
  "F3 5c W0 L0 r 64 tmm",
  "F2 5c W0 L0 r 64 tmm",
  "NP 5e W0 L0 r 64 tmm",
  "66 5e W0 L0 r 64 tmm",
  "F3 5e W0 L0 r 64 tmm",
  "F2 5e W0 L0 r 64 tmm",
  "66 6c W0 L0 r 64 tmm",
  "NP 6c W0 L0 r 64 tmm",
  // AVX-VNNI, AVX-VNNI-INT8 (VPDPB[SU][SU]D[S]), AVX-VNNI-INT16 (VPDPW[SU][SU]D[S])
  "66 50-53 W0 LIG",
  "NP 50,51 W0 LIG",
  "F3 50,51 W0 LIG",
  "F2 50,51 W0 LIG",
  "NP d2,d3 W0 LIG",
  "66 d2,d3 W0 LIG",
  "F3 d2,d3 W0 LIG",
  // broadcasts
  "66 58,59 W0 LIG nv",
  "66 5a W0 L1 nv m", // VBROADCASTI128
  "66 78,79 W0 LIG nv",
  // AVX-NE-CONVERT
  "F3 72 W0 LIG nv", // VCVTNEPS2BF16
  "NP b0 W0 LIG nv m",
  "66 b0 W0 LIG nv m",
  "F3 b0 W0 LIG nv m",
  "F2 b0 W0 LIG nv m",
  "66 b1 W0 LIG nv m",
  "F3 b1 W0 LIG nv m",
  // masked moves, gathers (VSIB: memory with SIB)
  "66 8c,8e WIG LIG m",
  "66 90-93 WIG LIG m sib vg",
  // FMA
  "66 96-9f,a6-af,b6-bf WIG LIG",
  // AVX-IFMA
  "66 b4,b5 W1 LIG",
  // SHA512, SM3, SM4
  "F2 cb W0 L1 r", // VSHA512RNDS2
  "F2 cc,cd W0 L1 r nv", // VSHA512MSG1, VSHA512MSG2
  "NP da W0 L0",
  "66 da W0 L0",
  "F3 da W0 LIG",
  "F2 da W0 LIG",
  // GFNI, AES/VAES
  "66 cf W0 LIG",
  "66 db WIG L0 nv",
  "66 dc-df WIG LIG",
  // CMPccXADD (64-bit mode only)
  "66 e0-ef WIG L0 m 64",
  // BMI1/BMI2
  "NP f2 WIG L0",
  "NP f3 WIG L0 /1/2/3",
  "NP f5 WIG L0",
  "F3 f5 WIG L0",
  "F2 f5 WIG L0",
  "F2 f6 WIG L0",
  "NP f7 WIG L0",
  "66 f7 WIG L0",
  "F3 f7 WIG L0",
  "F2 f7 WIG L0",
]);

export const VEX_MAP3 = buildTable([
  "66 00,01 W1 L1 nv", // VPERMQ, VPERMPD
  "66 02 W0 LIG", // VPBLENDD
  "66 04,05 W0 LIG nv", // VPERMILPS/PD imm
  "66 06 W0 L1", // VPERM2F128
  "66 08,09 WIG LIG nv", // VROUNDPS/PD
  "66 0a,0b WIG LIG", // VROUNDSS/SD
  "66 0c-0f WIG LIG",
  "66 14,15,17 WIG L0 nv", // VPEXTRB/W, VEXTRACTPS
  "66 16 WIG L0 nv", // VPEXTRD/Q
  "66 18 W0 L1", // VINSERTF128
  "66 19 W0 L1 nv", // VEXTRACTF128
  "66 1d W0 LIG nv", // VCVTPS2PH
  "66 20-22 WIG L0", // VPINSRB, VINSERTPS, VPINSRD/Q
  "66 30-33 WIG L0 nv r kR", // KSHIFTR/KSHIFTL (opmask)
  "66 38 W0 L1", // VINSERTI128
  "66 39 W0 L1 nv", // VEXTRACTI128
  "66 40 WIG LIG", // VDPPS
  "66 41 WIG L0", // VDPPD
  "66 42 WIG LIG", // VMPSADBW
  "66 44 WIG LIG", // VPCLMULQDQ
  "66 46 W0 L1", // VPERM2I128
  "66 48,49 WIG LIG", // VPERMIL2PS/PD (AMD)
  "66 4a-4c W0 LIG", // VBLENDVPS/PD, VPBLENDVB
  "66 5c-5f,68-6f,78-7f WIG LIG", // FMA4 (AMD)
  "66 60-63 WIG L0 nv", // VPCMPESTRM/ESTRI/ISTRM/ISTRI
  "66 ce,cf W1 LIG", // VGF2P8AFFINEQB, VGF2P8AFFINEINVQB
  "66 de W0 L0", // VSM3RNDS2
  "66 df WIG L0 nv", // VAESKEYGENASSIST
  "F2 f0 WIG L0 nv", // RORX
]);

// AMD XOP: pp must be 00.
export const XOP_MAP8 = buildTable([
  "NP 85-87,8e,8f,95-97,9e,9f,a6,b6 W0 L0", // VPMACS*, VPMADCS*
  "NP a2 WIG LIG", // VPCMOV
  "NP a3 WIG L0", // VPPERM
  "NP c0-c3 W0 L0 nv", // VPROTB/W/D/Q imm
  "NP cc-cf,ec-ef W0 L0", // VPCOM*, VPCOMU*
]);
export const XOP_MAP9 = buildTable([
  "NP 01 WIG L0 /1/2/3/4/5/6/7", // TBM: BLCFILL…T1MSK
  "NP 02 WIG L0 /1/6", // BLCMSK, BLCI
  "NP 12 WIG L0 nv r /0/1", // LLWPCB, SLWPCB
  "NP 80,81 W0 LIG nv", // VFRCZPS/PD
  "NP 82,83 W0 L0 nv", // VFRCZSS/SD
  "NP 90-9b WIG L0", // VPROT*, VPSHL*, VPSHA*
  "NP c1-c3,c6,c7,cb,d1-d3,d6,d7,db,e1-e3 W0 L0 nv", // VPHADD*, VPHSUB*
]);
export const XOP_MAPA = buildTable([
  "NP 10 WIG L0 nv", // BEXTR imm32 (TBM)
  "NP 12 WIG L0 /0/1", // LWPINS, LWPVAL
]);
