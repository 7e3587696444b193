/*
 * A freestanding TD guest for `tdxsim run`'s tests, built with the system gcc
 * (-static -nostdlib -ffreestanding). It talks to the host the way the selftest
 * library's guest half does: TDG.VP.VMCALL<Instruction.IO> writes to port 0x30
 * (success) and 0x31 (reports; 64-bit values as two writes, low half first),
 * TDG.VP.VMCALL<ReportFatalError>, TDG.VP.VMCALL<Instruction.HLT>. TDCALL is
 * emitted as raw bytes (66 0F 01 CC).
 *
 * What it does is chosen by `scenario`: the tests patch the marker value in a
 * copy of the ELF file, so one compilation serves every case.
 */
typedef unsigned long u64;

#define SCENARIO_MARKER 0x5ce7a810b0000000UL

#define TDG_VP_INFO 1
#define TDG_VP_VMCALL_INSTRUCTION_HLT 12
#define TDG_VP_VMCALL_INSTRUCTION_IO 30
#define TDG_VP_VMCALL_GET_TD_VM_CALL_INFO 0x10000
#define TDG_VP_VMCALL_REPORT_FATAL_ERROR 0x10003
#define TDVMCALL_EXPOSE_REGS_MASK 0xfc00

enum { REPORTS, FATAL, RUNAWAY, HALT, VMCALL_INFO_LEAF1 };

volatile const u64 scenario = SCENARIO_MARKER + REPORTS;

static u64 tdvmcall(u64 subfunction, u64 r12_in, u64 r13_in, u64 r14_in, u64 r15_in, u64 *r11_out)
{
	register u64 r10 __asm__("r10") = 0;
	register u64 r11 __asm__("r11") = subfunction;
	register u64 r12 __asm__("r12") = r12_in;
	register u64 r13 __asm__("r13") = r13_in;
	register u64 r14 __asm__("r14") = r14_in;
	register u64 r15 __asm__("r15") = r15_in;
	u64 rax = 0;
	u64 rcx = TDVMCALL_EXPOSE_REGS_MASK;

	__asm__ volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			 : "+a"(rax), "+c"(rcx), "+r"(r10), "+r"(r11), "+r"(r12),
			   "+r"(r13), "+r"(r14), "+r"(r15)
			 :
			 : "memory");
	if (r11_out)
		*r11_out = r11;
	return r10;
}

static void fatal(u64 code, u64 data_gpa)
{
	tdvmcall(TDG_VP_VMCALL_REPORT_FATAL_ERROR, code, data_gpa, 0, 0, 0);
}

static void io_write(u64 port, u64 size, u64 value)
{
	u64 status = tdvmcall(TDG_VP_VMCALL_INSTRUCTION_IO, size, 1, port, value, 0);
	if (status)
		fatal(status, 0);
}

static u64 io_read(u64 port, u64 size)
{
	u64 value = 0;
	u64 status = tdvmcall(TDG_VP_VMCALL_INSTRUCTION_IO, size, 0, port, 0, &value);
	if (status)
		fatal(status, 0);
	return value;
}

static void report(u64 value) { io_write(0x31, 4, value & 0xffffffffUL); }
static void report_64bit(u64 value) { report(value); report(value >> 32); }

static u64 vcpu_index(void)
{
	register u64 r9 __asm__("r9");
	u64 rax = TDG_VP_INFO, rcx, rdx;
	register u64 r8 __asm__("r8");
	register u64 r10 __asm__("r10");
	register u64 r11 __asm__("r11");

	__asm__ volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
			 : "+a"(rax), "=c"(rcx), "=d"(rdx), "=r"(r8), "=r"(r9), "=r"(r10), "=r"(r11)
			 :
			 : "memory");
	return r9 & 0xffffffffUL;
}

void _start(void)
{
	switch (scenario - SCENARIO_MARKER) {
	case REPORTS:
		report(vcpu_index());
		report(0xabcd);
		report_64bit(0x1122334455667788UL);
		io_write(0x50, 1, 0xab);
		report(io_read(0x50, 1));
		io_write(0x30, 4, 0);
		break;
	case FATAL:
		fatal(0x0baaaaad00000000UL | (1UL << 63), 0x1000);
		break;
	case RUNAWAY:
		break;
	case HALT:
		tdvmcall(TDG_VP_VMCALL_INSTRUCTION_HLT, 0, 0, 0, 0, 0);
		break;
	case VMCALL_INFO_LEAF1: {
		/* Leaf 1 goes to userspace as KVM_EXIT_TDX (6.16); report its status and R11. */
		u64 r11 = ~0UL;
		u64 status = tdvmcall(TDG_VP_VMCALL_GET_TD_VM_CALL_INFO, 1, 0, 0, 0, &r11);
		report_64bit(status);
		report_64bit(r11);
		io_write(0x30, 4, 0);
		break;
	}
	}
	for (;;)
		__asm__ volatile("pause");
}
