/*
 * A freestanding TD guest in C that calls the tdxsim guest library through the SysV ABI, as
 * the upstream tests call tdx.c and test_util.c: the routines are the library's own machine
 * code, assembled into the same TD; the test links their addresses with -Wl,--defsym, and the
 * library's #VE handler sits in the IDT. The structs are the library's (tdx_hypercall_args,
 * tdx_module_output), laid out by gcc.
 * Built with gcc -static -nostdlib -ffreestanding -mno-red-zone (a #VE may interrupt it).
 */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define TDX_IOEXIT_TEST_PORT 0x50
#define TDX_NATIVE_OUT_PORT 0x99
#define TDG_VP_VMCALL_INSTRUCTION_IO 30
#define TDG_VP_VMCALL_INSTRUCTION_IO_READ 0
#define TDG_VP_VMCALL_INSTRUCTION_IO_WRITE 1
#define TDX_HCALL_HAS_OUTPUT 1
#define TDG_VP_INFO 1
#define MMIO_REQUEST_GPA ((1UL << 47) | 0x200000000UL)

struct tdx_hypercall_args {
	u64 r10, r11, r12, r13, r14, r15;
};

struct tdx_module_output {
	u64 rcx, rdx, r8, r9, r10, r11;
};

u64 __tdx_hypercall(struct tdx_hypercall_args *args, u64 flags);
u64 __tdx_module_call(u64 fn, u64 rcx, u64 rdx, u64 r8, u64 r9, struct tdx_module_output *out);
u64 tdg_vp_vmcall_instruction_io(u64 port, u64 size, u64 write, u64 *data);
u64 tdg_vp_vmcall_get_td_vmcall_info(u64 *r11, u64 *r12, u64 *r13, u64 *r14);
u64 tdg_vp_vmcall_instruction_cpuid(u32 eax, u32 ecx, u32 *ret_eax, u32 *ret_ebx, u32 *ret_ecx,
				    u32 *ret_edx);
u64 tdg_vp_vmcall_ve_request_mmio_write(u64 address, u64 size, u64 data);
u64 tdg_vp_info(u64 *rcx, u64 *rdx, u64 *r8, u64 *r9, u64 *r10, u64 *r11);
u64 tdg_mr_report(u64 report_gpa, u64 reportdata_gpa, u64 subtype);
u64 tdg_mr_rtmr_extend(u64 data_gpa, u64 index);
u64 tdx_test_report_to_user_space(u32 value);
u64 tdx_test_report_64bit_to_user_space(u64 value);
void tdx_assert_error(u64 error);
void tdx_test_fatal(u64 error_code);
void tdx_test_fatal_with_data(u64 error_code, u64 data_gpa);
void tdx_test_success(void);

/* Set by the host with sync_global_to_guest before td_finalize. */
volatile u64 host_value = 1;

/* GVA = GPA in the image region, so these addresses are what the TDCALLs take. */
static u8 tdreport[1024] __attribute__((aligned(1024)));
static u8 reportdata[64] __attribute__((aligned(64))) = "tdxsim gcc guest";
static u8 extend_data[48] __attribute__((aligned(64))) = { 1, 2, 3 };

static void report64(u64 value)
{
	tdx_assert_error(tdx_test_report_64bit_to_user_space(value));
}

void _start(void)
{
	u64 data = 0xab, gpaw = 0, attributes = 0, vcpus = 0, index = 0;
	u64 info[4] = { 1, 1, 1, 1 };
	u32 regs[4] = { 0 };
	struct tdx_hypercall_args args = {
		.r11 = TDG_VP_VMCALL_INSTRUCTION_IO,
		.r12 = 2,
		.r13 = TDG_VP_VMCALL_INSTRUCTION_IO_READ,
		.r14 = TDX_IOEXIT_TEST_PORT,
	};
	struct tdx_module_output out = { 0 };

	tdx_assert_error(tdg_vp_vmcall_instruction_io(TDX_IOEXIT_TEST_PORT, 1,
						      TDG_VP_VMCALL_INSTRUCTION_IO_WRITE, &data));
	tdx_assert_error(__tdx_hypercall(&args, TDX_HCALL_HAS_OUTPUT));
	report64(args.r11);
	tdx_assert_error(tdg_vp_info(&gpaw, &attributes, &vcpus, &index, 0, 0));
	report64(gpaw);
	report64(__tdx_module_call(TDG_VP_INFO, 0, 0, 0, 0, &out));
	report64(out.rcx);
	tdx_assert_error(tdg_vp_vmcall_get_td_vmcall_info(&info[0], &info[1], &info[2], &info[3]));
	report64(info[0] | info[1] | info[2] | info[3]);
	tdx_assert_error(tdg_vp_vmcall_instruction_cpuid(0, 0, &regs[0], &regs[1], &regs[2], &regs[3]));
	tdx_assert_error(tdx_test_report_to_user_space(regs[1]));
	tdx_assert_error(tdg_vp_vmcall_ve_request_mmio_write(MMIO_REQUEST_GPA, 4, 0xdeadbeef));
	report64(host_value);
	report64(tdg_mr_rtmr_extend((u64)extend_data, 2));
	tdx_assert_error(tdg_mr_report((u64)tdreport, (u64)reportdata, 0));
	/* REPORTMACSTRUCT.REPORTDATA starts at byte 128 of the TDREPORT */
	report64(*(volatile u64 *)&tdreport[128]);
	/* a native OUT: #VE, emulated by the library's default handler */
	__asm__ volatile("outb %b0, %w1" : : "a"(0x5a), "Nd"(TDX_NATIVE_OUT_PORT));
	tdx_test_fatal_with_data(0x0BAAAAAD00000000UL, (u64)reportdata);
	tdx_test_success();
	for (;;)
		__asm__ volatile("pause");
}
