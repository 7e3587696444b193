// The selftests' struct ex_regs: what guest_ve_entry saves, what a #VE handler receives.

/** struct ex_regs as guest_ve_entry lays it out on the stack (offsets in bytes). */
export const EX_REGS = {
  rax: 0,
  rcx: 8,
  rdx: 16,
  rbx: 24,
  rbp: 32,
  rsi: 40,
  rdi: 48,
  r8: 56,
  r9: 64,
  r10: 72,
  r11: 80,
  r12: 88,
  r13: 96,
  r14: 104,
  r15: 112,
  vector: 120,
  errorCode: 128,
  rip: 136,
  cs: 144,
  rflags: 152,
  rsp: 160,
  ss: 168,
} as const;
