/*
 * A freestanding TD guest for tdxsim: reports success on port 0x30 with
 * TDG.VP.VMCALL<Instruction.IO>, the way tdx_test_success() does, or reports the
 * TDVMCALL status with TDG.VP.VMCALL<ReportFatalError> if the IO call failed.
 * Built with gcc -static -nostdlib -ffreestanding; TDCALL is emitted as raw bytes
 * (66 0F 01 CC) because not every assembler knows the mnemonic.
 */
typedef unsigned long u64;

#define TDX_TEST_SUCCESS_PORT 0x30
#define TDG_VP_VMCALL_INSTRUCTION_IO 30
#define TDG_VP_VMCALL_REPORT_FATAL_ERROR 0x10003
#define TDVMCALL_EXPOSE_REGS_MASK 0xfc00

volatile u64 tdvmcall_status = ~0UL;

static u64 tdvmcall(u64 subfunction, u64 r12_in, u64 r13_in, u64 r14_in, u64 r15_in)
{
	register u64 r10 __asm__("r10") = 0; /* TDX_HYPERCALL_STANDARD */
	register u64 r11 __asm__("r11") = subfunction;
	register u64 r12 __asm__("r12") = r12_in;
	register u64 r13 __asm__("r13") = r13_in;
	register u64 r14 __asm__("r14") = r14_in;
	register u64 r15 __asm__("r15") = r15_in;
	u64 rax = 0; /* TDG.VP.VMCALL */
	u64 rcx = TDVMCALL_EXPOSE_REGS_MASK;

	__asm__ volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			 : "+a"(rax), "+c"(rcx), "+r"(r10), "+r"(r11), "+r"(r12),
			   "+r"(r13), "+r"(r14), "+r"(r15)
			 :
			 : "memory");
	return r10;
}

void _start(void)
{
	/* Instruction.IO: R12 size, R13 direction (1 = write), R14 port, R15 data. */
	tdvmcall_status = tdvmcall(TDG_VP_VMCALL_INSTRUCTION_IO, 4, 1, TDX_TEST_SUCCESS_PORT, 0);
	if (tdvmcall_status)
		tdvmcall(TDG_VP_VMCALL_REPORT_FATAL_ERROR, tdvmcall_status, 0, 0, 0);
	for (;;)
		__asm__ volatile("pause");
}
