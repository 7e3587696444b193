// Which EVEX-encoded opcodes exist (AVX-512 F/CD/ER/PF/BW/DQ/VL/IFMA/VBMI/VBMI2/VNNI/BITALG/
// VPOPCNTDQ/BF16/FP16/VP2INTERSECT/4FMAPS/4VNNIW, GFNI, VAES, VPCLMULQDQ), per map, from the
// Intel SDM Vol. 2 opcode columns. Format: opcode-rows.ts. Packed-FP rows: PS forms are W0,
// PD forms W1; masking and zeroing are allowed unless a row says nok / noz.
import { buildTable } from "./opcode-rows.js";

// Map 1 (0F)
export const EVEX_MAP1 = buildTable([
  "NP 10 W0 L* nv",
  "66 10 W1 L* nv",
  "NP 11 W0 L* nv nozm",
  "66 11 W1 L* nv nozm",
  "F3 10 W0 LIG m nv",
  "F3 10 W0 LIG r",
  "F2 10 W1 LIG m nv",
  "F2 10 W1 LIG r",
  "F3 11 W0 LIG m nv nozm",
  "F3 11 W0 LIG r",
  "F2 11 W1 LIG m nv nozm",
  "F2 11 W1 LIG r",
  "NP 12 W0 L0 nok", // VMOVLPS m / VMOVHLPS r
  "66 12 W1 L0 m nok",
  "F3 12 W0 L* nv", // VMOVSLDUP
  "F2 12 W1 L* nv", // VMOVDDUP
  "NP 13,17 W0 L0 m nv nok",
  "66 13,17 W1 L0 m nv nok",
  "NP 14,15 W0 L* b",
  "66 14,15 W1 L* b",
  "NP 16 W0 L0 nok", // VMOVHPS m / VMOVLHPS r
  "66 16 W1 L0 m nok",
  "F3 16 W0 L* nv", // VMOVSHDUP
  "NP 28 W0 L* nv",
  "66 28 W1 L* nv",
  "NP 29 W0 L* nv nozm",
  "66 29 W1 L* nv nozm",
  "F3 2a WIG LIG er nok", // VCVTSI2SS
  "F2 2a WIG LIG er nok", // VCVTSI2SD
  "NP 2b W0 L* m nv nok",
  "66 2b W1 L* m nv nok",
  "F3 2c W0 LIG nv sae nok rR",
  "F3 2c W1 LIG nv sae nok rR",
  "F2 2c WIG LIG nv sae nok rR",
  "F3 2d WIG LIG nv er nok rR",
  "F2 2d WIG LIG nv er nok rR",
  "NP 2e,2f W0 LIG nv sae nok",
  "66 2e,2f W1 LIG nv sae nok",
  "NP 51 W0 L* nv b er",
  "66 51 W1 L* nv b er",
  "F3 51 W0 LIG er",
  "F2 51 W1 LIG er",
  "NP 54-57 W0 L* b",
  "66 54-57 W1 L* b",
  "NP 58,59,5c,5e W0 L* b er",
  "66 58,59,5c,5e W1 L* b er",
  "F3 58,59,5c,5e W0 LIG er",
  "F2 58,59,5c,5e W1 LIG er",
  "NP 5d,5f W0 L* b sae",
  "66 5d,5f W1 L* b sae",
  "F3 5d,5f W0 LIG sae",
  "F2 5d,5f W1 LIG sae",
  "NP 5a W0 L* nv b sae", // VCVTPS2PD
  "66 5a W1 L* nv b er", // VCVTPD2PS
  "F3 5a W0 LIG sae", // VCVTSS2SD
  "F2 5a W1 LIG er", // VCVTSD2SS
  "NP 5b WIG L* nv b er", // VCVTDQ2PS, VCVTQQ2PS
  "66 5b W0 L* nv b er", // VCVTPS2DQ
  "F3 5b W0 L* nv b sae", // VCVTTPS2DQ
  "66 60,61,63,67,68,69 WIG L*",
  "66 62,6a,6b W0 L* b",
  "66 6c,6d W1 L* b",
  "66 64,65 WIG L* noz kR", // VPCMPGTB/W → k
  "66 66 W0 L* b noz kR", // VPCMPGTD → k
  "66 6e WIG L0 nv nok", // VMOVD/VMOVQ
  "66 6f WIG L* nv",
  "F3 6f WIG L* nv",
  "F2 6f WIG L* nv",
  "66 7f WIG L* nv nozm",
  "F3 7f WIG L* nv nozm",
  "F2 7f WIG L* nv nozm",
  "66 70 W0 L* nv b", // VPSHUFD
  "F3 70 WIG L* nv",
  "F2 70 WIG L* nv",
  "66 71 WIG L* /2/4/6", // VPSRLW/VPSRAW/VPSLLW imm (NDD)
  "66 72 WIG L* b /0/1/4", // VPROR/VPROL/VPSRAD/Q imm
  "66 72 W0 L* b /2/6", // VPSRLD/VPSLLD imm
  "66 73 W1 L* b /2/6", // VPSRLQ/VPSLLQ imm
  "66 73 WIG L* nok /3/7", // VPSRLDQ/VPSLLDQ
  "66 74,75 WIG L* noz kR",
  "66 76 W0 L* b noz kR",
  "NP 78 WIG L* nv b sae",
  "66 78 WIG L* nv b sae",
  "F3 78 WIG LIG nv sae nok rR",
  "F2 78 WIG LIG nv sae nok rR",
  "NP 79 WIG L* nv b er",
  "66 79 WIG L* nv b er",
  "F3 79 WIG LIG nv er nok rR",
  "F2 79 WIG LIG nv er nok rR",
  "66 7a WIG L* nv b sae", // VCVTTPS2QQ, VCVTTPD2QQ
  "F3 7a W0 L* nv b sae", // VCVTUDQ2PD (b on the register form: see VCVTDQ2PD)
  "F3 7a W1 L* nv b er", // VCVTUQQ2PD
  "F2 7a WIG L* nv b er", // VCVTUDQ2PS, VCVTUQQ2PS
  "66 7b WIG L* nv b er", // VCVTPS2QQ, VCVTPD2QQ
  "F3 7b WIG LIG er nok", // VCVTUSI2SS
  "F2 7b WIG LIG er nok", // VCVTUSI2SD
  "66 7e WIG L0 nv nok", // VMOVD/VMOVQ store
  "F3 7e W1 L0 nv nok", // VMOVQ
  "NP c2 W0 L* b sae noz kR",
  "66 c2 W1 L* b sae noz kR",
  "F3 c2 W0 LIG sae noz kR",
  "F2 c2 W1 LIG sae noz kR",
  "66 c4 WIG L0 nok", // VPINSRW
  "66 c5 WIG L0 r nv nok rR", // VPEXTRW
  "NP c6 W0 L* b",
  "66 c6 W1 L* b",
  "66 d1,e1,f1 WIG L*", // shifts by xmm count: word
  "66 d2,f2 W0 L*",
  "66 e2 WIG L*",
  "66 d3,f3 W1 L*",
  "66 d4,f4,fb W1 L* b",
  "66 d5,d8,d9,da,dc,dd,de,e0,e3,e4,e5,e8,e9,ea,ec,ed,ee,f5,f8,f9,fc,fd WIG L*",
  "66 f6 WIG L* nok", // VPSADBW
  "66 db,df,eb,ef WIG L* b",
  "66 fa,fe W0 L* b",
  "66 d6 W1 L0 nv nok", // VMOVQ store
  "66 e6 W1 L* nv b sae", // VCVTTPD2DQ
  "F3 e6 W0 L* nv b sae", // VCVTDQ2PD: exact, no rounding, but EVEX.b on the register form is
  // accepted and ignored (length ignored as with SAE) by iced-x86/XED; the SDM does not list it as #UD
  "F3 e6 W1 L* nv b er", // VCVTQQ2PD
  "F2 e6 W1 L* nv b er", // VCVTPD2DQ
  "66 e7 W0 L* m nv nok",
]);

// Map 2 (0F38)
export const EVEX_MAP2 = buildTable([
  "66 00,04,0b WIG L*",
  "66 0c W0 L* b",
  "66 0d W1 L* b",
  "66 10-12 W1 L*", // VPSRLVW, VPSRAVW, VPSLLVW
  "F3 10-15,20-25,30-35 W0 L* nv nozm", // VPMOV[US]* down-conversions
  "66 13 W0 L* nv sae", // VCVTPH2PS
  "66 14,15 WIG L* b", // VPRORV, VPROLV
  "66 16 WIG L12 b", // VPERMPS/PD
  "66 18 W0 L* nv", // VBROADCASTSS
  "66 19 W0 L12 nv", // VBROADCASTF32X2
  "66 19 W1 L12 nv", // VBROADCASTSD
  "66 1a WIG L12 m nv", // VBROADCASTF32X4/F64X2
  "66 1b WIG L2 m nv", // VBROADCASTF32X8/F64X4
  "66 1c,1d WIG L* nv",
  "66 1e W0 L* nv b",
  "66 1f W1 L* nv b",
  "66 20-24 WIG L* nv",
  "66 25 W0 L* nv",
  "66 26 WIG L* noz kR", // VPTESTMB/W
  "F3 26 WIG L* noz kR", // VPTESTNMB/W
  "66 27 WIG L* b noz kR",
  "F3 27 WIG L* b noz kR",
  "66 28 W1 L* b", // VPMULDQ
  "F3 28,38 WIG L* r nv nok", // VPMOVM2B/W/D/Q
  "66 29 W1 L* b noz kR", // VPCMPEQQ
  "F3 29,39 WIG L* r nv nok kR", // VPMOVB2M…VPMOVQ2M
  "66 2a W0 L* m nv nok", // VMOVNTDQA
  "F3 2a W1 L* r nv nok", // VPBROADCASTMB2Q
  "66 2b W0 L* b",
  "66 2c WIG L* b er", // VSCALEFPS/PD
  "66 2d WIG LIG er", // VSCALEFSS/SD
  "66 30-34 WIG L* nv",
  "66 35 W0 L* nv",
  "66 36 WIG L12 b", // VPERMD/Q
  "66 37 W1 L* b noz kR",
  "66 38,3a,3c,3e WIG L*",
  "F3 3a W0 L* r nv nok", // VPBROADCASTMW2D
  "66 39,3b,3d,3f,40 WIG L* b",
  "66 42 WIG L* nv b sae", // VGETEXPPS/PD
  "66 43 WIG LIG sae",
  "66 44 WIG L* nv b", // VPLZCNTD/Q
  "66 45-47 WIG L* b",
  "66 4c,4e WIG L* nv b", // VRCP14, VRSQRT14
  "66 4d,4f WIG LIG",
  "66 50-53 W0 L* b", // AVX512_VNNI
  "F2 52,53 W0 L2 m", // VP4DPWSSD(S)
  "F3 52 W0 L* b", // VDPBF16PS
  "66 54 WIG L* nv", // VPOPCNTB/W
  "66 55 WIG L* nv b", // VPOPCNTD/Q
  "66 58 W0 L* nv",
  "66 59 WIG L* nv", // VBROADCASTI32X2, VPBROADCASTQ
  "66 5a WIG L12 m nv",
  "66 5b WIG L2 m nv",
  "66 62 WIG L* nv", // VPEXPANDB/W
  "66 63 WIG L* nv nozm", // VPCOMPRESSB/W
  "66 64,65 WIG L* b",
  "66 66 WIG L*",
  "F2 68 WIG L* b nok kR", // VP2INTERSECTD/Q
  "66 70,72 W1 L*", // VPSHLDVW, VPSHRDVW
  "66 71,73 WIG L* b",
  "F3 72 W0 L* nv b", // VCVTNEPS2BF16
  "F2 72 W0 L* b", // VCVTNE2PS2BF16
  "66 75,7d WIG L*", // VPERMI2B/W, VPERMT2B/W
  "66 76,77,7e,7f WIG L* b",
  "66 78,79 W0 L* nv",
  "66 7a,7b W0 L* r nv",
  "66 7c WIG L* r nv",
  "66 83 W1 L* b",
  "66 88,89 WIG L* nv",
  "66 8a,8b WIG L* nv nozm",
  "66 8d WIG L*",
  "66 8f W0 L* noz kR",
  "66 90-93 WIG L* m sib nv kreq noz vg", // gathers (VSIB)
  "66 a0-a3 WIG L* m sib nv kreq noz", // scatters
  "66 96,97,98,9a,9c,9e,a6,a7,a8,aa,ac,ae,b6,b7,b8,ba,bc,be WIG L* b er",
  "66 99,9b,9d,9f,a9,ab,ad,af,b9,bb,bd,bf WIG LIG er",
  "F2 9a,aa W0 L2 m", // V4FMADDPS, V4FNMADDPS
  "F2 9b,ab W0 LIG m", // V4FMADDSS, V4FNMADDSS
  "66 b4,b5 W1 L* b",
  "66 c4 WIG L* nv b",
  "66 c6,c7 WIG L2 m sib nv kreq noz /1/2/5/6", // gather/scatter prefetches
  "66 c8,ca,cc WIG L2 nv b sae", // VEXP2, VRCP28, VRSQRT28
  "66 cb,cd WIG LIG sae",
  "66 cf W0 L*",
  "66 dc-df WIG L* nok", // VAES
]);

// Map 3 (0F3A), all with imm8
export const EVEX_MAP3 = buildTable([
  "66 00,01 W1 L12 nv b",
  "66 03 WIG L* b",
  "66 04 W0 L* nv b",
  "66 05 W1 L* nv b",
  "66 08 W0 L* nv b sae",
  "66 09 W1 L* nv b sae",
  "66 0a W0 LIG sae",
  "66 0b W1 LIG sae",
  "66 0f WIG L*",
  "66 14,15,17 WIG L0 nv nok",
  "66 16 WIG L0 nv nok",
  "66 18,38 WIG L12",
  "66 19,39 WIG L12 nv nozm",
  "66 1a,3a WIG L2",
  "66 1b,3b WIG L2 nv nozm",
  "66 1d W0 L* nv sae nozm",
  "66 1e,1f WIG L* b noz kR", // VPCMPUD/Q, VPCMPD/Q
  "66 3e,3f WIG L* noz kR", // VPCMPUB/W, VPCMPB/W
  "66 20 WIG L0 nok",
  "66 21 W0 L0 nok",
  "66 22 WIG L0 nok",
  "66 23,43 WIG L12 b",
  "66 25 WIG L* b",
  "66 26 WIG L* nv b sae",
  "66 27 WIG LIG sae",
  "66 42 W0 L*",
  "66 44 WIG L* nok",
  "66 50,54 WIG L* b sae",
  "66 51,55 WIG LIG sae",
  "66 56 WIG L* nv b sae",
  "66 57 WIG LIG sae",
  "66 66 WIG L* nv b noz kR",
  "66 67 WIG LIG nv noz kR",
  "66 70,72 W1 L*",
  "66 71,73 WIG L* b",
  "66 ce,cf W1 L* b",
  // AVX512-FP16
  "NP 08 W0 L* nv b sae",
  "NP 0a W0 LIG sae",
  "NP 26 W0 L* nv b sae",
  "NP 27 W0 LIG sae",
  "NP 56 W0 L* nv b sae",
  "NP 57 W0 LIG sae",
  "NP 66 W0 L* nv b noz kR",
  "NP 67 W0 LIG nv noz kR",
  "NP c2 W0 L* b sae noz kR",
  "F3 c2 W0 LIG sae noz kR",
]);

// Map 5 (AVX512-FP16)
export const EVEX_MAP5 = buildTable([
  "F3 10 W0 LIG m nv",
  "F3 10 W0 LIG r",
  "F3 11 W0 LIG m nv nozm",
  "F3 11 W0 LIG r",
  "66 1d W0 L* nv b er", // VCVTPS2PHX
  "NP 1d W0 LIG er", // VCVTSS2SH
  "F3 2a WIG LIG er nok",
  "F3 2c WIG LIG nv sae nok rR",
  "F3 2d WIG LIG nv er nok rR",
  "NP 2e,2f W0 LIG nv sae nok",
  "NP 51 W0 L* nv b er",
  "F3 51 W0 LIG er",
  "NP 58,59,5c,5e W0 L* b er",
  "F3 58,59,5c,5e W0 LIG er",
  "NP 5d,5f W0 L* b sae",
  "F3 5d,5f W0 LIG sae",
  "NP 5a W0 L* nv b sae", // VCVTPH2PD
  "66 5a W1 L* nv b er", // VCVTPD2PH
  "F3 5a W0 LIG sae", // VCVTSH2SD
  "F2 5a W1 LIG er", // VCVTSD2SH
  "NP 5b WIG L* nv b er", // VCVTDQ2PH, VCVTQQ2PH
  "66 5b W0 L* nv b er", // VCVTPH2DQ
  "F3 5b W0 L* nv b sae", // VCVTTPH2DQ
  "66 6e W0 L0 nv nok", // VMOVW
  "66 7e W0 L0 nv nok",
  "NP 78 W0 L* nv b sae",
  "66 78 W0 L* nv b sae",
  "F3 78 WIG LIG nv sae nok rR",
  "NP 79 W0 L* nv b er",
  "66 79 W0 L* nv b er",
  "F3 79 WIG LIG nv er nok rR",
  "66 7a W0 L* nv b sae", // VCVTTPH2QQ
  "F2 7a WIG L* nv b er", // VCVTUDQ2PH, VCVTUQQ2PH
  "66 7b W0 L* nv b er", // VCVTPH2QQ
  "F3 7b WIG LIG er nok", // VCVTUSI2SH
  "NP 7c W0 L* nv b sae",
  "66 7c W0 L* nv b sae",
  "NP 7d W0 L* nv b er",
  "66 7d W0 L* nv b er",
  "F3 7d W0 L* nv b er",
  "F2 7d W0 L* nv b er",
]);

// Map 6 (AVX512-FP16)
export const EVEX_MAP6 = buildTable([
  "66 13 W0 L* nv b sae", // VCVTPH2PSX
  "NP 13 W0 LIG sae", // VCVTSH2SS
  "66 2c W0 L* b er",
  "66 2d W0 LIG er",
  "66 42 W0 L* nv b sae",
  "66 43 W0 LIG sae",
  "66 4c,4e W0 L* nv b",
  "66 4d,4f W0 LIG",
  "F3 56 W0 L* b er dst",
  "F2 56 W0 L* b er dst",
  "F3 57 W0 LIG er dst",
  "F2 57 W0 LIG er dst",
  "66 96,97,98,9a,9c,9e,a6,a7,a8,aa,ac,ae,b6,b7,b8,ba,bc,be W0 L* b er",
  "66 99,9b,9d,9f,a9,ab,ad,af,b9,bb,bd,bf W0 LIG er",
  "F3 d6 W0 L* b er dst",
  "F2 d6 W0 L* b er dst",
  "F3 d7 W0 LIG er dst",
  "F2 d7 W0 LIG er dst",
]);
