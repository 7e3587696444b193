/*
 * A freestanding TD guest in C that calls the tdxsim guest library through the SysV ABI, as
 * the upstream tests call tdx.c and test_util.c: the routines are the library's own machine
 * code, assembled into the same TD; the test links their addresses with -Wl,--defsym.
 * Built with gcc -static -nostdlib -ffreestanding -mno-red-zone (a #VE may interrupt it).
 */
typedef unsigned long u64;
typedef unsigned char u8;

#define TDX_IOEXIT_TEST_PORT 0x50
#define TDG_VP_VMCALL_INSTRUCTION_IO_WRITE 1

u64 tdg_vp_vmcall_instruction_io(u64 port, u64 size, u64 write, u64 *data);
u64 tdg_vp_info(u64 *rcx, u64 *rdx, u64 *r8, u64 *r9, u64 *r10, u64 *r11);
u64 tdg_mr_report(u64 report_gpa, u64 reportdata_gpa, u64 subtype);
u64 tdx_test_report_64bit_to_user_space(u64 value);
void tdx_test_fatal(u64 error_code);
void tdx_test_fatal_with_data(u64 error_code, u64 data_gpa);
void tdx_test_success(void);

/* Set by the host with sync_global_to_guest before td_finalize. */
volatile u64 host_value = 1;

/* GVA = GPA in the image region, so these addresses are what TDG.MR.REPORT takes. */
static u8 tdreport[1024] __attribute__((aligned(1024)));
static u8 reportdata[64] __attribute__((aligned(64))) = "tdxsim gcc guest";

static void assert_ok(u64 ret)
{
	if (ret)
		tdx_test_fatal(ret);
}

void _start(void)
{
	u64 data = 0xab, gpaw = 0, attributes = 0, vcpus = 0, index = 0;

	assert_ok(tdg_vp_vmcall_instruction_io(TDX_IOEXIT_TEST_PORT, 1,
					       TDG_VP_VMCALL_INSTRUCTION_IO_WRITE, &data));
	assert_ok(tdg_vp_info(&gpaw, &attributes, &vcpus, &index, 0, 0));
	assert_ok(tdx_test_report_64bit_to_user_space(gpaw));
	assert_ok(tdx_test_report_64bit_to_user_space(host_value));
	assert_ok(tdg_mr_report((u64)tdreport, (u64)reportdata, 0));
	/* REPORTMACSTRUCT.REPORTDATA starts at byte 128 of the TDREPORT */
	assert_ok(tdx_test_report_64bit_to_user_space(*(volatile u64 *)&tdreport[128]));
	tdx_test_fatal_with_data(0x0BAAAAAD00000000UL, (u64)reportdata);
	tdx_test_success();
	for (;;)
		__asm__ volatile("pause");
}
