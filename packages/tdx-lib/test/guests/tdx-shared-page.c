/*
 * A freestanding C guest with a page shared with the host: the host cuts `shared_mailbox`'s
 * page out of the measured image (elfSharedChunks), so it is mapped with the shared bit, and
 * syncs it while the TD runs; the guest reads and writes it through its ordinary address.
 * The library's test_util routines are linked with -Wl,--defsym.
 * Built with gcc -static -nostdlib -ffreestanding -mno-red-zone.
 */
typedef unsigned long u64;
typedef unsigned int u32;

u64 tdx_test_report_to_user_space(u32 value);
u64 tdx_test_report_64bit_to_user_space(u64 value);
void tdx_assert_error(u64 error);
void tdx_test_success(void);

/* A page of its own: aligned to and sized as one 4 KiB page. */
volatile u64 shared_mailbox[512] __attribute__((aligned(4096)));

/* Private, measured: synced before td_finalize only. */
volatile u64 private_value = 7;

void _start(void)
{
	tdx_assert_error(tdx_test_report_64bit_to_user_space(shared_mailbox[0]));
	shared_mailbox[1] = shared_mailbox[0] + private_value;
	tdx_test_report_to_user_space(1);
	tdx_assert_error(tdx_test_report_64bit_to_user_space(shared_mailbox[0]));
	tdx_test_success();
}
