/*
 * Native differential harness for @tdxsim/x86: runs single instructions on the host CPU.
 *
 * stdin: one vector per line, "<op> <in0> <in1> <in2> <in3> <in4>" (op name, five hex u64).
 * stdout: one line per vector, "<out0> <out1> <out2>" (hex u64), or "#DE" when the
 * instruction raised a divide error (SIGFPE). Meaning of the slots per kind of op:
 *   integer ops  in0 = destination/RAX, in1 = source/count, in2 = RDX/third operand,
 *                in4 = RFLAGS before (only CF PF AF ZF SF OF are taken);
 *                out0 = destination/RAX, out1 = RDX/second result, out2 = RFLAGS after.
 *   SSE ops      in0:in1 = destination xmm (low, high qword), in2:in3 = source xmm,
 *                in4 = immediate or GPR input; out0:out1 = destination xmm, out2 = GPR result.
 * Built with -mno-red-zone: the inline asm pushes and pops RFLAGS below the stack pointer.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

typedef unsigned long long u64;
typedef void (*op_fn)(const u64 *in, u64 *out);

#define ARITH_FLAGS 0x8d5ULL
#define FLAGS_IN(v) (((v) & ARITH_FLAGS) | 2)
#define PUSHF_IN "pushq %[f]\n\tpopfq\n\t"
#define PUSHF_OUT "\n\tpushfq\n\tpopq %[f]"

/* dst op= src, two-operand ALU forms; M is the operand-size modifier (b, w, k, q). */
#define BIN(name, insn, M)                                                                \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 x = in[0], y = in[1], f = FLAGS_IN(in[4]);                                        \
    __asm__ volatile(PUSHF_IN insn " %" M "[y], %" M "[x]" PUSHF_OUT                     \
                     : [x] "+r"(x), [f] "+r"(f) : [y] "r"(y) : "cc");                     \
    out[0] = x; out[1] = 0; out[2] = f;                                                   \
  }
#define BIN4(op) BIN(op##8, #op "b", "b") BIN(op##16, #op "w", "w") BIN(op##32, #op "l", "k") BIN(op##64, #op "q", "q")
#define BIN3(op) BIN(op##16, #op "w", "w") BIN(op##32, #op "l", "k") BIN(op##64, #op "q", "q")

BIN4(add) BIN4(adc) BIN4(sub) BIN4(sbb) BIN4(and) BIN4(or) BIN4(xor) BIN4(cmp) BIN4(test)
BIN3(bt) BIN3(bts) BIN3(btr) BIN3(btc) BIN3(bsf) BIN3(bsr) BIN3(tzcnt) BIN3(lzcnt) BIN3(popcnt)
BIN3(imul)

/* dst op= , one operand. */
#define UN(name, insn, M)                                                                 \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 x = in[0], f = FLAGS_IN(in[4]);                                                   \
    __asm__ volatile(PUSHF_IN insn " %" M "[x]" PUSHF_OUT : [x] "+r"(x), [f] "+r"(f) : : "cc"); \
    out[0] = x; out[1] = 0; out[2] = f;                                                   \
  }
#define UN4(op) UN(op##8, #op "b", "b") UN(op##16, #op "w", "w") UN(op##32, #op "l", "k") UN(op##64, #op "q", "q")
UN4(inc) UN4(dec) UN4(neg) UN4(not)
UN(bswap32, "bswapl", "k") UN(bswap64, "bswapq", "q")

/* Shifts and rotates by CL. */
#define SH(name, insn, M)                                                                 \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 x = in[0], c = in[1], f = FLAGS_IN(in[4]);                                        \
    __asm__ volatile(PUSHF_IN insn " %%cl, %" M "[x]" PUSHF_OUT                          \
                     : [x] "+r"(x), [f] "+r"(f) : "c"(c) : "cc");                         \
    out[0] = x; out[1] = 0; out[2] = f;                                                   \
  }
#define SH4(op) SH(op##8, #op "b", "b") SH(op##16, #op "w", "w") SH(op##32, #op "l", "k") SH(op##64, #op "q", "q")
SH4(shl) SH4(shr) SH4(sar) SH4(rol) SH4(ror) SH4(rcl) SH4(rcr)

/* SHLD/SHRD dst, src, CL: in0 = dst, in1 = count, in2 = src. */
#define SHD(name, insn, M)                                                                \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 x = in[0], c = in[1], y = in[2], f = FLAGS_IN(in[4]);                             \
    __asm__ volatile(PUSHF_IN insn " %%cl, %" M "[y], %" M "[x]" PUSHF_OUT               \
                     : [x] "+r"(x), [f] "+r"(f) : [y] "r"(y), "c"(c) : "cc");             \
    out[0] = x; out[1] = 0; out[2] = f;                                                   \
  }
SHD(shld16, "shldw", "w") SHD(shld32, "shldl", "k") SHD(shld64, "shldq", "q")
SHD(shrd16, "shrdw", "w") SHD(shrd32, "shrdl", "k") SHD(shrd64, "shrdq", "q")

/* MUL/IMUL/DIV/IDIV r/m: in0 = RAX, in1 = source, in2 = RDX. */
#define MD(name, insn, M)                                                                 \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 a = in[0], d = in[2], s = in[1], f = FLAGS_IN(in[4]);                             \
    __asm__ volatile(PUSHF_IN insn " %" M "[s]" PUSHF_OUT                                \
                     : "+a"(a), "+d"(d), [f] "+r"(f) : [s] "r"(s) : "cc");                \
    out[0] = a; out[1] = d; out[2] = f;                                                   \
  }
#define MD4(op) MD(op##8, #op "b", "b") MD(op##16, #op "w", "w") MD(op##32, #op "l", "k") MD(op##64, #op "q", "q")
MD4(mul) MD4(div) MD4(idiv)
MD(imul1_8, "imulb", "b") MD(imul1_16, "imulw", "w") MD(imul1_32, "imull", "k") MD(imul1_64, "imulq", "q")

/* CMPXCHG r/m, r: in0 = dst, in1 = src, in2 = RAX; out0 = dst, out1 = RAX. */
#define CX(name, insn, M)                                                                 \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 x = in[0], y = in[1], a = in[2], f = FLAGS_IN(in[4]);                             \
    __asm__ volatile(PUSHF_IN insn " %" M "[y], %" M "[x]" PUSHF_OUT                     \
                     : [x] "+r"(x), "+a"(a), [f] "+r"(f) : [y] "r"(y) : "cc");            \
    out[0] = x; out[1] = a; out[2] = f;                                                   \
  }
CX(cmpxchg8, "cmpxchgb", "b") CX(cmpxchg16, "cmpxchgw", "w") CX(cmpxchg32, "cmpxchgl", "k") CX(cmpxchg64, "cmpxchgq", "q")

/* XADD r/m, r: out0 = dst, out1 = src register. */
#define XA(name, insn, M)                                                                 \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 x = in[0], y = in[1], f = FLAGS_IN(in[4]);                                        \
    __asm__ volatile(PUSHF_IN insn " %" M "[y], %" M "[x]" PUSHF_OUT                     \
                     : [x] "+r"(x), [y] "+r"(y), [f] "+r"(f) : : "cc");                   \
    out[0] = x; out[1] = y; out[2] = f;                                                   \
  }
XA(xadd8, "xaddb", "b") XA(xadd16, "xaddw", "w") XA(xadd32, "xaddl", "k") XA(xadd64, "xaddq", "q")

/* CBW & co: in0 = RAX, in2 = RDX. */
#define SX(name, insn)                                                                    \
  static void name(const u64 *in, u64 *out) {                                             \
    u64 a = in[0], d = in[2];                                                             \
    __asm__ volatile(insn : "+a"(a), "+d"(d));                                            \
    out[0] = a; out[1] = d; out[2] = 0;                                                   \
  }
SX(cbw, "cbtw") SX(cwde, "cwtl") SX(cdqe, "cltq") SX(cwd, "cwtd") SX(cdq, "cltd") SX(cqo, "cqto")

/* SETcc: out0 = the byte set (0 or 1) for RFLAGS in4. */
#define SETCC(cc)                                                                         \
  static void set##cc(const u64 *in, u64 *out) {                                          \
    u64 x = 0, f = FLAGS_IN(in[4]);                                                       \
    __asm__ volatile(PUSHF_IN "set" #cc " %b[x]" : [x] "+r"(x) : [f] "r"(f) : "cc");      \
    out[0] = x; out[1] = 0; out[2] = 0;                                                   \
  }
SETCC(o) SETCC(no) SETCC(b) SETCC(ae) SETCC(e) SETCC(ne) SETCC(be) SETCC(a)
SETCC(s) SETCC(ns) SETCC(p) SETCC(np) SETCC(l) SETCC(ge) SETCC(le) SETCC(g)

/* POPFQ of in4 at CPL 3 (TF excluded: it would trap); out2 = RFLAGS read back. The caller's
   flags are saved and restored around it. */
static void popf_user(const u64 *in, u64 *out) {
  u64 v = in[4] & ~0x100ULL, f;
  __asm__ volatile("pushfq\n\tpushq %[v]\n\tpopfq\n\tpushfq\n\tpopq %[f]\n\tpopfq" : [f] "=&r"(f) : [v] "r"(v) : "cc", "memory");
  out[0] = 0; out[1] = 0; out[2] = f;
}

/* CMOVcc dst, src (16/32/64) with RFLAGS in4: a 32-bit CMOV writes (zero-extends) even when false. */
#define CMOV1(cc, sz, M)                                                                  \
  static void cmov##cc##sz(const u64 *in, u64 *out) {                                     \
    u64 x = in[0], y = in[1], f = FLAGS_IN(in[4]);                                        \
    __asm__ volatile(PUSHF_IN "cmov" #cc " %" M "[y], %" M "[x]" : [x] "+r"(x) : [y] "r"(y), [f] "r"(f) : "cc"); \
    out[0] = x; out[1] = 0; out[2] = 0;                                                   \
  }
#define CMOV(cc) CMOV1(cc, 16, "w") CMOV1(cc, 32, "k") CMOV1(cc, 64, "q")
CMOV(o) CMOV(no) CMOV(b) CMOV(ae) CMOV(e) CMOV(ne) CMOV(be) CMOV(a)
CMOV(s) CMOV(ns) CMOV(p) CMOV(np) CMOV(l) CMOV(ge) CMOV(le) CMOV(g)

/* String instructions over two 640-byte buffers, A (source, DS:RSI) and B (destination,
   ES:RDI), whose bytes 304..319 come from in0:in1 and in2:in3 and whose other bytes hold
   fixed patterns (A[i] = 7i+3, B[i] = 13i+5). in4 packs: count (bits 0-4), DF (bit 8),
   a 16-bit value replicated into RAX (bits 16-31), flags (bits 32-43), source index
   (bits 44-47) and destination index (bits 48-51) into the 16-byte windows.
   out0:out1 = B[304..319] after; out2 packs RCX (bits 0-7), how far RSI and RDI moved + 512
   (bits 8-17, 18-27), flags (bits 32-43) and AX (bits 48-63). */
static unsigned char strA[640], strB[640];
#define STR(name, insn)                                                                   \
  static void name(const u64 *in, u64 *out) {                                             \
    for (int i = 0; i < 640; i++) { strA[i] = (unsigned char)(i * 7 + 3); strB[i] = (unsigned char)(i * 13 + 5); } \
    memcpy(strA + 304, &in[0], 8); memcpy(strA + 312, &in[1], 8);                         \
    memcpy(strB + 304, &in[2], 8); memcpy(strB + 312, &in[3], 8);                         \
    u64 c = in[4] & 31, a = ((in[4] >> 16) & 0xffff) * 0x0001000100010001ULL;             \
    u64 f = ((in[4] >> 32) & ARITH_FLAGS) | 2 | (((in[4] >> 8) & 1) << 10);               \
    unsigned char *s = strA + 304 + ((in[4] >> 44) & 15), *d = strB + 304 + ((in[4] >> 48) & 15); \
    unsigned char *s0 = s, *d0 = d;                                                       \
    __asm__ volatile(PUSHF_IN insn PUSHF_OUT "\n\tcld"                                    \
                     : "+S"(s), "+D"(d), "+c"(c), "+a"(a), [f] "+r"(f) : : "cc", "memory"); \
    memcpy(&out[0], strB + 304, 8); memcpy(&out[1], strB + 312, 8);                       \
    out[2] = (c & 0xff) | ((u64)((s - s0 + 512) & 0x3ff) << 8) |                           \
             ((u64)((d - d0 + 512) & 0x3ff) << 18) | ((f & ARITH_FLAGS) << 32) | ((a & 0xffff) << 48); \
  }
#define STR4(op) STR(str_##op##b, #op "b") STR(str_##op##w, #op "w") STR(str_##op##l, #op "l") STR(str_##op##q, #op "q") \
  STR(str_rep_##op##b, "rep " #op "b") STR(str_rep_##op##w, "rep " #op "w") STR(str_rep_##op##l, "rep " #op "l") STR(str_rep_##op##q, "rep " #op "q")
#define STRC(op) STR4(op) STR(str_repne_##op##b, "repne " #op "b") STR(str_repne_##op##w, "repne " #op "w") \
  STR(str_repne_##op##l, "repne " #op "l") STR(str_repne_##op##q, "repne " #op "q")
STR4(movs) STR4(stos) STR4(lods) STRC(cmps) STRC(scas)

/* SSE2 dst op= src over xmm0/xmm1. */
#define XMM_IO(body)                                                                      \
    u64 d[2] = {in[0], in[1]}, s[2] = {in[2], in[3]};                                     \
    __asm__ volatile("movdqu (%[d]), %%xmm0\n\tmovdqu (%[s]), %%xmm1\n\t" body            \
                     "\n\tmovdqu %%xmm0, (%[d])"                                         \
                     : : [d] "r"(d), [s] "r"(s) : "xmm0", "xmm1", "memory");              \
    out[0] = d[0]; out[1] = d[1]; out[2] = 0;
#define SSE(op) static void op(const u64 *in, u64 *out) { XMM_IO(#op " %%xmm1, %%xmm0") }
SSE(paddb) SSE(paddw) SSE(paddd) SSE(paddq) SSE(psubb) SSE(psubw) SSE(psubd) SSE(psubq)
SSE(pcmpeqb) SSE(pcmpeqw) SSE(pcmpeqd) SSE(pcmpgtb) SSE(pcmpgtw) SSE(pcmpgtd)
SSE(pand) SSE(pandn) SSE(por) SSE(pxor)
SSE(punpcklbw) SSE(punpckhbw) SSE(punpcklwd) SSE(punpckhwd)
SSE(punpckldq) SSE(punpckhdq) SSE(punpcklqdq) SSE(punpckhqdq)
SSE(psllw) SSE(psrlw) SSE(psraw) SSE(pslld) SSE(psrld) SSE(psrad) SSE(psllq) SSE(psrlq)
SSE(pmuludq)
SSE(paddusb) SSE(paddusw) SSE(psubusb) SSE(psubusw) SSE(paddsb) SSE(paddsw) SSE(psubsb) SSE(psubsw)
SSE(pminub) SSE(pmaxub) SSE(pminsw) SSE(pmaxsw) SSE(pavgb) SSE(pavgw)
SSE(packsswb) SSE(packuswb) SSE(packssdw) SSE(pmullw) SSE(pmulhw) SSE(pmulhuw) SSE(pmaddwd) SSE(psadbw)

/* SSE scalar floating point: in0:in1 = xmm0 (destination), in2:in3 = xmm1 (source) or the GPR
 * source of CVTSI2Sx (in2), in4 = MXCSR (all exceptions forced masked); out0:out1 = xmm0 (or
 * out0 = the GPR result of CVT(T)Sx2SI), out2 = MXCSR after | (RFLAGS & 0x8d5) << 32. */
static const unsigned def_mxcsr = 0x1f80;
#define FP_IO(body)                                                                               \
    u64 d[2] = {in[0], in[1]}, s[2] = {in[2], in[3]}, fl = 0, g = in[2];                          \
    unsigned m = (unsigned)in[4] | 0x1f80, mo = 0;                                               \
    __asm__ volatile("ldmxcsr %[m]\n\tmovdqu (%[d]), %%xmm0\n\tmovdqu (%[s]), %%xmm1\n\t" body     \
                     "\n\tmovdqu %%xmm0, (%[d])\n\tstmxcsr %[mo]\n\tpushfq\n\tpopq %[fl]\n\tldmxcsr %[def]" \
                     : [mo] "=m"(mo), [fl] "=r"(fl), [g] "+r"(g)                                   \
                     : [d] "r"(d), [s] "r"(s), [m] "m"(m), [def] "m"(def_mxcsr)                   \
                     : "xmm0", "xmm1", "memory", "cc");                                           \
    out[2] = mo | ((fl & 0x8d5) << 32);
#define FP(name, insn) static void name(const u64 *in, u64 *out) { FP_IO(insn) out[0] = d[0]; out[1] = d[1]; }
#define FP_TOINT(name, insn) static void name(const u64 *in, u64 *out) { FP_IO(insn) out[0] = g; out[1] = 0; }
FP(addsd, "addsd %%xmm1, %%xmm0") FP(subsd, "subsd %%xmm1, %%xmm0") FP(mulsd, "mulsd %%xmm1, %%xmm0")
FP(divsd, "divsd %%xmm1, %%xmm0") FP(sqrtsd, "sqrtsd %%xmm1, %%xmm0") FP(minsd, "minsd %%xmm1, %%xmm0")
FP(maxsd, "maxsd %%xmm1, %%xmm0")
FP(addss, "addss %%xmm1, %%xmm0") FP(subss, "subss %%xmm1, %%xmm0") FP(mulss, "mulss %%xmm1, %%xmm0")
FP(divss, "divss %%xmm1, %%xmm0") FP(sqrtss, "sqrtss %%xmm1, %%xmm0") FP(minss, "minss %%xmm1, %%xmm0")
FP(maxss, "maxss %%xmm1, %%xmm0")
FP(ucomisd, "ucomisd %%xmm1, %%xmm0") FP(comisd, "comisd %%xmm1, %%xmm0")
FP(ucomiss, "ucomiss %%xmm1, %%xmm0") FP(comiss, "comiss %%xmm1, %%xmm0")
FP(cvtsd2ss, "cvtsd2ss %%xmm1, %%xmm0") FP(cvtss2sd, "cvtss2sd %%xmm1, %%xmm0")
FP(cvtsi2sd32, "cvtsi2sdl %k[g], %%xmm0") FP(cvtsi2sd64, "cvtsi2sdq %q[g], %%xmm0")
FP(cvtsi2ss32, "cvtsi2ssl %k[g], %%xmm0") FP(cvtsi2ss64, "cvtsi2ssq %q[g], %%xmm0")
FP_TOINT(cvttsd2si32, "cvttsd2si %%xmm1, %k[g]") FP_TOINT(cvttsd2si64, "cvttsd2si %%xmm1, %q[g]")
FP_TOINT(cvtsd2si32, "cvtsd2si %%xmm1, %k[g]") FP_TOINT(cvtsd2si64, "cvtsd2si %%xmm1, %q[g]")
FP_TOINT(cvttss2si32, "cvttss2si %%xmm1, %k[g]") FP_TOINT(cvttss2si64, "cvttss2si %%xmm1, %q[g]")
FP_TOINT(cvtss2si32, "cvtss2si %%xmm1, %k[g]") FP_TOINT(cvtss2si64, "cvtss2si %%xmm1, %q[g]")

FP(addpd, "addpd %%xmm1, %%xmm0") FP(subpd, "subpd %%xmm1, %%xmm0") FP(mulpd, "mulpd %%xmm1, %%xmm0")
FP(divpd, "divpd %%xmm1, %%xmm0") FP(sqrtpd, "sqrtpd %%xmm1, %%xmm0") FP(minpd, "minpd %%xmm1, %%xmm0")
FP(maxpd, "maxpd %%xmm1, %%xmm0")
FP(addps, "addps %%xmm1, %%xmm0") FP(subps, "subps %%xmm1, %%xmm0") FP(mulps, "mulps %%xmm1, %%xmm0")
FP(divps, "divps %%xmm1, %%xmm0") FP(sqrtps, "sqrtps %%xmm1, %%xmm0") FP(minps, "minps %%xmm1, %%xmm0")
FP(maxps, "maxps %%xmm1, %%xmm0")
#define FPCMP(form) FP(form##0, #form " $0, %%xmm1, %%xmm0") FP(form##1, #form " $1, %%xmm1, %%xmm0") \
  FP(form##2, #form " $2, %%xmm1, %%xmm0") FP(form##3, #form " $3, %%xmm1, %%xmm0") \
  FP(form##4, #form " $4, %%xmm1, %%xmm0") FP(form##5, #form " $5, %%xmm1, %%xmm0") \
  FP(form##6, #form " $6, %%xmm1, %%xmm0") FP(form##7, #form " $7, %%xmm1, %%xmm0")
FPCMP(cmpsd) FPCMP(cmpss) FPCMP(cmppd) FPCMP(cmpps)

FP(cvtdq2pd, "cvtdq2pd %%xmm1, %%xmm0") FP(cvtdq2ps, "cvtdq2ps %%xmm1, %%xmm0") FP(cvtps2pd, "cvtps2pd %%xmm1, %%xmm0")
FP(cvtpd2ps, "cvtpd2ps %%xmm1, %%xmm0") FP(cvtpd2dq, "cvtpd2dq %%xmm1, %%xmm0") FP(cvttpd2dq, "cvttpd2dq %%xmm1, %%xmm0")
FP(cvtps2dq, "cvtps2dq %%xmm1, %%xmm0") FP(cvttps2dq, "cvttps2dq %%xmm1, %%xmm0")

/* The same arithmetic with the MXCSR of in4 as given (exceptions may be unmasked): an unmasked
 * SIMD exception arrives as SIGFPE and the line reads "#XM <mxcsr at the fault>". */
#define FP_IO_RAW(body)                                                                           \
    u64 d[2] = {in[0], in[1]}, s[2] = {in[2], in[3]}, fl = 0, g = in[2];                          \
    unsigned m = (unsigned)in[4], mo = 0;                                                        \
    __asm__ volatile("ldmxcsr %[m]\n\tmovdqu (%[d]), %%xmm0\n\tmovdqu (%[s]), %%xmm1\n\t" body     \
                     "\n\tmovdqu %%xmm0, (%[d])\n\tstmxcsr %[mo]\n\tpushfq\n\tpopq %[fl]\n\tldmxcsr %[def]" \
                     : [mo] "=m"(mo), [fl] "=r"(fl), [g] "+r"(g)                                   \
                     : [d] "r"(d), [s] "r"(s), [m] "m"(m), [def] "m"(def_mxcsr)                   \
                     : "xmm0", "xmm1", "memory", "cc");                                           \
    out[2] = mo | ((fl & 0x8d5) << 32);
#define FPX(name, insn) static void xm_##name(const u64 *in, u64 *out) { FP_IO_RAW(insn) out[0] = d[0]; out[1] = d[1]; }
FPX(addsd, "addsd %%xmm1, %%xmm0") FPX(subsd, "subsd %%xmm1, %%xmm0") FPX(mulsd, "mulsd %%xmm1, %%xmm0")
FPX(divsd, "divsd %%xmm1, %%xmm0") FPX(sqrtsd, "sqrtsd %%xmm1, %%xmm0")
FPX(addss, "addss %%xmm1, %%xmm0") FPX(mulss, "mulss %%xmm1, %%xmm0") FPX(divss, "divss %%xmm1, %%xmm0")
FPX(addpd, "addpd %%xmm1, %%xmm0") FPX(mulpd, "mulpd %%xmm1, %%xmm0") FPX(divpd, "divpd %%xmm1, %%xmm0")
FPX(sqrtpd, "sqrtpd %%xmm1, %%xmm0") FPX(addps, "addps %%xmm1, %%xmm0") FPX(divps, "divps %%xmm1, %%xmm0")

/* PMOVMSKB r32, xmm1: out2 = GPR. */
static void pmovmskb(const u64 *in, u64 *out) {
  u64 s[2] = {in[2], in[3]}, g = 0;
  __asm__ volatile("movdqu (%[s]), %%xmm1\n\tpmovmskb %%xmm1, %k[g]" : [g] "+r"(g) : [s] "r"(s) : "xmm1", "memory");
  out[0] = 0; out[1] = 0; out[2] = g;
}
/* MOVD/MOVQ between GPR (in4) and xmm0; out0:out1 = xmm0, out2 = GPR read back. */
static void movd_to_xmm(const u64 *in, u64 *out) {
  u64 d[2] = {in[0], in[1]}, g = in[4];
  __asm__ volatile("movdqu (%[d]), %%xmm0\n\tmovd %k[g], %%xmm0\n\tmovdqu %%xmm0, (%[d])" : : [d] "r"(d), [g] "r"(g) : "xmm0", "memory");
  out[0] = d[0]; out[1] = d[1]; out[2] = 0;
}
static void movq_to_xmm(const u64 *in, u64 *out) {
  u64 d[2] = {in[0], in[1]}, g = in[4];
  __asm__ volatile("movdqu (%[d]), %%xmm0\n\tmovq %q[g], %%xmm0\n\tmovdqu %%xmm0, (%[d])" : : [d] "r"(d), [g] "r"(g) : "xmm0", "memory");
  out[0] = d[0]; out[1] = d[1]; out[2] = 0;
}
static void movd_from_xmm(const u64 *in, u64 *out) {
  u64 s[2] = {in[2], in[3]}, g = in[4];
  __asm__ volatile("movdqu (%[s]), %%xmm1\n\tmovd %%xmm1, %k[g]" : [g] "+r"(g) : [s] "r"(s) : "xmm1", "memory");
  out[0] = 0; out[1] = 0; out[2] = g;
}
static void movq_from_xmm(const u64 *in, u64 *out) {
  u64 s[2] = {in[2], in[3]}, g = in[4];
  __asm__ volatile("movdqu (%[s]), %%xmm1\n\tmovq %%xmm1, %q[g]" : [g] "+r"(g) : [s] "r"(s) : "xmm1", "memory");
  out[0] = 0; out[1] = 0; out[2] = g;
}
static void movq_xmm_xmm(const u64 *in, u64 *out) { XMM_IO("movq %%xmm1, %%xmm0") }

/* PEXTRW r32, xmm1, imm (in4 & 7): out2 = GPR. PINSRW xmm0, r32 (in2), imm (in4 & 7). */
#define PEXTRW_FN(i) static void pextrw_##i(const u64 *in, u64 *out) { \
  u64 s[2] = {in[2], in[3]}, g = 0; \
  __asm__ volatile("movdqu (%[s]), %%xmm1\n\tpextrw $" #i ", %%xmm1, %k[g]" : [g] "+r"(g) : [s] "r"(s) : "xmm1", "memory"); \
  out[0] = 0; out[1] = 0; out[2] = g; }
#define PINSRW_FN(i) static void pinsrw_##i(const u64 *in, u64 *out) { \
  u64 d[2] = {in[0], in[1]}, g = in[2]; \
  __asm__ volatile("movdqu (%[d]), %%xmm0\n\tpinsrw $" #i ", %k[g], %%xmm0\n\tmovdqu %%xmm0, (%[d])" : : [d] "r"(d), [g] "r"(g) : "xmm0", "memory"); \
  out[0] = d[0]; out[1] = d[1]; out[2] = 0; }
#define R8(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
R8(PEXTRW_FN) R8(PINSRW_FN)
#define PEXTRW_REF(i) pextrw_##i,
#define PINSRW_REF(i) pinsrw_##i,
static const op_fn pextrw_tab[8] = {R8(PEXTRW_REF)};
static const op_fn pinsrw_tab[8] = {R8(PINSRW_REF)};
static void pextrw(const u64 *in, u64 *out) { pextrw_tab[in[4] & 7](in, out); }
static void pinsrw(const u64 *in, u64 *out) { pinsrw_tab[in[4] & 7](in, out); }

/* Immediate forms: one function per immediate value, tables indexed by in4 & 0xff. */
#define D1(M, a, b, c) M(a, b, c, 0) M(a, b, c, 1) M(a, b, c, 2) M(a, b, c, 3)
#define D2(M, a, b) D1(M, a, b, 0) D1(M, a, b, 1) D1(M, a, b, 2) D1(M, a, b, 3)
#define D3(M, a) D2(M, a, 0) D2(M, a, 1) D2(M, a, 2) D2(M, a, 3)
#define D4(M) D3(M, 0) D3(M, 1) D3(M, 2) D3(M, 3)
#define IMM(a, b, c, d) "$(" #a "*64+" #b "*16+" #c "*4+" #d ")"
#define PSHUFD_FN(a, b, c, d) static void pshufd_##a##b##c##d(const u64 *in, u64 *out) { XMM_IO("pshufd " IMM(a, b, c, d) ", %%xmm1, %%xmm0") }
#define SHUFPS_FN(a, b, c, d) static void shufps_##a##b##c##d(const u64 *in, u64 *out) { XMM_IO("shufps " IMM(a, b, c, d) ", %%xmm1, %%xmm0") }
#define PSLLDQ_FN(a, b, c, d) static void pslldq_##a##b##c##d(const u64 *in, u64 *out) { XMM_IO("pslldq " IMM(a, b, c, d) ", %%xmm0") }
#define PSRLDQ_FN(a, b, c, d) static void psrldq_##a##b##c##d(const u64 *in, u64 *out) { XMM_IO("psrldq " IMM(a, b, c, d) ", %%xmm0") }
D4(PSHUFD_FN) D4(SHUFPS_FN) D4(PSLLDQ_FN) D4(PSRLDQ_FN)
#define PSHUFD_REF(a, b, c, d) pshufd_##a##b##c##d,
#define SHUFPS_REF(a, b, c, d) shufps_##a##b##c##d,
#define PSLLDQ_REF(a, b, c, d) pslldq_##a##b##c##d,
#define PSRLDQ_REF(a, b, c, d) psrldq_##a##b##c##d,
static const op_fn pshufd_tab[256] = {D4(PSHUFD_REF)};
static const op_fn shufps_tab[256] = {D4(SHUFPS_REF)};
static const op_fn pslldq_tab[256] = {D4(PSLLDQ_REF)};
static const op_fn psrldq_tab[256] = {D4(PSRLDQ_REF)};
static void pshufd(const u64 *in, u64 *out) { pshufd_tab[in[4] & 0xff](in, out); }
static void shufps(const u64 *in, u64 *out) { shufps_tab[in[4] & 0xff](in, out); }
static void pslldq(const u64 *in, u64 *out) { pslldq_tab[in[4] & 0xff](in, out); }
static void psrldq(const u64 *in, u64 *out) { psrldq_tab[in[4] & 0xff](in, out); }

#define E(n) {#n, n},
#define E4(op) E(op##8) E(op##16) E(op##32) E(op##64)
#define E3(op) E(op##16) E(op##32) E(op##64)
static const struct { const char *name; op_fn fn; } ops[] = {
  E4(add) E4(adc) E4(sub) E4(sbb) E4(and) E4(or) E4(xor) E4(cmp) E4(test)
  E4(inc) E4(dec) E4(neg) E4(not) E(bswap32) E(bswap64)
  E4(shl) E4(shr) E4(sar) E4(rol) E4(ror) E4(rcl) E4(rcr)
  E(shld16) E(shld32) E(shld64) E(shrd16) E(shrd32) E(shrd64)
  E4(mul) E4(div) E4(idiv) E(imul1_8) E(imul1_16) E(imul1_32) E(imul1_64) E3(imul)
  E3(bt) E3(bts) E3(btr) E3(btc) E3(bsf) E3(bsr) E3(tzcnt) E3(lzcnt) E3(popcnt)
  E4(cmpxchg) E4(xadd) E(cbw) E(cwde) E(cdqe) E(cwd) E(cdq) E(cqo)
  E(seto) E(setno) E(setb) E(setae) E(sete) E(setne) E(setbe) E(seta)
  E(sets) E(setns) E(setp) E(setnp) E(setl) E(setge) E(setle) E(setg) E(popf_user)
#define EC(cc) E(cmov##cc##16) E(cmov##cc##32) E(cmov##cc##64)
  EC(o) EC(no) EC(b) EC(ae) EC(e) EC(ne) EC(be) EC(a) EC(s) EC(ns) EC(p) EC(np) EC(l) EC(ge) EC(le) EC(g)
#define ES4(op) E(str_##op##b) E(str_##op##w) E(str_##op##l) E(str_##op##q)
#define ESTR(op) ES4(op) ES4(rep_##op)
  ESTR(movs) ESTR(stos) ESTR(lods) ESTR(cmps) ESTR(scas) ES4(repne_cmps) ES4(repne_scas)
  E(paddb) E(paddw) E(paddd) E(paddq) E(psubb) E(psubw) E(psubd) E(psubq)
  E(pcmpeqb) E(pcmpeqw) E(pcmpeqd) E(pcmpgtb) E(pcmpgtw) E(pcmpgtd)
  E(pand) E(pandn) E(por) E(pxor)
  E(punpcklbw) E(punpckhbw) E(punpcklwd) E(punpckhwd) E(punpckldq) E(punpckhdq) E(punpcklqdq) E(punpckhqdq)
  E(psllw) E(psrlw) E(psraw) E(pslld) E(psrld) E(psrad) E(psllq) E(psrlq) E(pslldq) E(psrldq)
  E(pmuludq) E(pmovmskb) E(pshufd) E(shufps)
  E(paddusb) E(paddusw) E(psubusb) E(psubusw) E(paddsb) E(paddsw) E(psubsb) E(psubsw)
  E(pminub) E(pmaxub) E(pminsw) E(pmaxsw) E(pavgb) E(pavgw)
  E(packsswb) E(packuswb) E(packssdw) E(pmullw) E(pmulhw) E(pmulhuw) E(pmaddwd) E(psadbw)
  E(pextrw) E(pinsrw)
  E(movd_to_xmm) E(movq_to_xmm) E(movd_from_xmm) E(movq_from_xmm) E(movq_xmm_xmm)
  E(addsd) E(subsd) E(mulsd) E(divsd) E(sqrtsd) E(minsd) E(maxsd)
  E(addss) E(subss) E(mulss) E(divss) E(sqrtss) E(minss) E(maxss)
  E(ucomisd) E(comisd) E(ucomiss) E(comiss) E(cvtsd2ss) E(cvtss2sd)
  E(cvtsi2sd32) E(cvtsi2sd64) E(cvtsi2ss32) E(cvtsi2ss64)
  E(cvttsd2si32) E(cvttsd2si64) E(cvtsd2si32) E(cvtsd2si64)
  E(cvttss2si32) E(cvttss2si64) E(cvtss2si32) E(cvtss2si64)
  E(addpd) E(subpd) E(mulpd) E(divpd) E(sqrtpd) E(minpd) E(maxpd)
  E(addps) E(subps) E(mulps) E(divps) E(sqrtps) E(minps) E(maxps)
#define ECMP(f) E(f##0) E(f##1) E(f##2) E(f##3) E(f##4) E(f##5) E(f##6) E(f##7)
  ECMP(cmpsd) ECMP(cmpss) ECMP(cmppd) ECMP(cmpps)
  E(cvtdq2pd) E(cvtdq2ps) E(cvtps2pd) E(cvtpd2ps) E(cvtpd2dq) E(cvttpd2dq) E(cvtps2dq) E(cvttps2dq)
  E(xm_addsd) E(xm_subsd) E(xm_mulsd) E(xm_divsd) E(xm_sqrtsd) E(xm_addss) E(xm_mulss) E(xm_divss)
  E(xm_addpd) E(xm_mulpd) E(xm_divpd) E(xm_sqrtpd) E(xm_addps) E(xm_divps)
};

static sigjmp_buf fault_jmp;
static volatile int fpe_simd;
static volatile unsigned fpe_mxcsr;
static void on_fpe(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  fpe_simd = si->si_code != FPE_INTDIV && si->si_code != FPE_INTOVF;
#ifdef __linux__
  fpe_mxcsr = ((ucontext_t *)ctx)->uc_mcontext.fpregs->mxcsr;
#else
  (void)ctx;
  fpe_mxcsr = 0; /* the #XM flags are read from the Linux signal context only (xm.test.ts skips elsewhere) */
#endif
  siglongjmp(fault_jmp, 1);
}

static op_fn lookup(const char *name) {
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(ops[i].name, name) == 0) return ops[i].fn;
  return 0;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, 0);
  static char line[512], name[64], last[64];
  op_fn fn = 0;
  while (fgets(line, sizeof line, stdin)) {
    u64 in[5] = {0}, out[3] = {0};
    if (sscanf(line, "%63s %llx %llx %llx %llx %llx", name, &in[0], &in[1], &in[2], &in[3], &in[4]) != 6) {
      fprintf(stderr, "harness: malformed line: %s", line);
      return 2;
    }
    if (!fn || strcmp(name, last) != 0) {
      fn = lookup(name);
      if (!fn) { fprintf(stderr, "harness: unknown op '%s'\n", name); return 2; }
      strcpy(last, name);
    }
    if (sigsetjmp(fault_jmp, 1)) {
      __asm__ volatile("ldmxcsr %0" : : "m"(def_mxcsr));
      if (fpe_simd) printf("#XM %x\n", fpe_mxcsr); else puts("#DE");
      continue;
    }
    fn(in, out);
    printf("%llx %llx %llx\n", out[0], out[1], out[2]);
  }
  return 0;
}
