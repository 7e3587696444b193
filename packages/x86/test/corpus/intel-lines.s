mov rax, 0x10
mov eax, 0x10
mov rax, 0xffffffff
mov rax, 0x1122334455667788
add rax, 1
add eax, 0x100
add ax, 1
add al, 1
add eax, ebx
mov eax, ebx
xchg eax, ebx
xchg ebx, eax
xchg rax, rcx
test eax, 1
shl eax, 1
sal eax, 3
imul eax, ebx, 10
push 1
push rax
push r12
pop r15
inc eax
lea rax, [rip+0x10]
mov eax, DWORD PTR [rbp-8]
mov DWORD PTR [rax], 1
and rsp, -16
mov ax, ds
mov ds, ax
in al, dx
out dx, al
in eax, 0x60
int 0x80
int3
cpuid
lgdt [rax]
mov cr3, rax
mov rax, cr0
movq rax, xmm0
movq xmm0, xmm1
movd xmm0, eax
pxor xmm0, xmm0
cmpxchg16b [rdi]
sysretq
iretq
swapgs
tdcall
seamcall
movzx eax, BYTE PTR [rdi]
movsx rax, WORD PTR [rsi+rcx*2]
movsxd rax, DWORD PTR [rdi]
lock xadd QWORD PTR [rdi], rax
rep movsb
rep stosq
repne scasb
mov al, BYTE PTR fs:[rax]
mov ax, WORD PTR fs:[rax]
mov eax, DWORD PTR [r12]
mov eax, DWORD PTR [r13]
mov eax, DWORD PTR [rsp+8]
mov eax, DWORD PTR [rax+r9*8+0x1000]
mov eax, DWORD PTR [eax]
mov eax, DWORD PTR ds:0x1000
mov sil, 1
mov ah, bh
ret
ret 8
leave
nop
pause
hlt
cqo
cdqe
cwde
movdqa xmm0, XMMWORD PTR [rax]
movdqu XMMWORD PTR [rsp+16], xmm15
pshufd xmm1, xmm2, 0x1b
psrldq xmm3, 8
bt eax, 3
bts QWORD PTR [rax], rcx
shld eax, ebx, cl
shrd eax, ebx, 4
cmovne eax, ebx
setne al
bswap rax
bswap r9d
enter 16, 0
rdmsr
wrmsr
rdtscp
xgetbv
clflush [rax]
mfence
prefetcht0 [rax]
invlpg [rax]
fxsave [rax]
xsave [rax]
rdrand rax
div rcx
idiv DWORD PTR [rbx]
neg rax
not BYTE PTR [rax]
mov rax, QWORD PTR gs:0x28
popcnt eax, ecx
tzcnt rax, rbx
lzcnt eax, DWORD PTR [rax]
mov r8b, BYTE PTR [r9+r10*1]
mov WORD PTR [rax+0x7f], 0x1234
mov QWORD PTR [rsp], -1
add QWORD PTR [rip+0x100], 8
sub DWORD PTR [rbp-0x80], 0x80
cmp BYTE PTR [rdi], 0
adc rax, rbx
sbb ecx, DWORD PTR [rdx]
or al, 0x7f
xor r11d, r11d
and eax, 0xffff
test BYTE PTR [rax+1], 0x80
test r9, r10
inc QWORD PTR [rax]
dec WORD PTR [rax]
mul rbx
imul rax, QWORD PTR [rdi+8]
imul ecx, ecx, 0x12345
imul bl
rol eax, 7
ror r8, cl
rcl BYTE PTR [rax], 1
rcr dx, 3
sar rax, 63
shr ecx, cl
btc eax, 31
btr QWORD PTR [rdi], 5
bsf rax, rcx
bsr ecx, eax
cmpxchg DWORD PTR [rsi], ecx
lock cmpxchg QWORD PTR [rdi], rdx
cmpxchg8b QWORD PTR [rdi]
xadd eax, ebx
xchg DWORD PTR [rax], ecx
cbw
cwd
cdq
lahf
sahf
clc
stc
cmc
cld
std
cli
sti
movsb
movsq
cmpsb
lodsd
stosw
scasq
rep lodsb
repe cmpsb
insb
outsd
call rax
call QWORD PTR [rax+8]
jmp rcx
jmp QWORD PTR [rip+0x20]
push QWORD PTR [rbx]
pop QWORD PTR [rbx]
pushfq
popfq
push fs
pop gs
leave
loop .
jrcxz .
ud2
int1
into_label: nop
rdtsc
rdpmc
rdseed eax
xsetbv
wbinvd
invd
clts
hlt
sysenter
syscall
lidt [rax]
sidt [rax]
sgdt [rbx]
ltr ax
lldt cx
str eax
sldt ax
smsw eax
lmsw ax
verr ax
mov rax, dr7
mov dr0, rcx
mov cr8, rax
mov rax, cr4
lfence
sfence
prefetchnta [rax]
prefetcht1 BYTE PTR [rax+rcx*8]
prefetchw [rax]
clflushopt [rax]
clwb [rax]
fxrstor [rax]
xrstor [rax]
xsaveopt [rdi]
xsaves [rdi]
xrstors [rdi]
rdfsbase rax
wrgsbase rdx
vmcall
vmlaunch
vmresume
vmxoff
movdqa XMMWORD PTR [rdi], xmm1
movaps xmm2, xmm3
movups XMMWORD PTR [rax], xmm0
movd eax, xmm0
movq QWORD PTR [rax], xmm1
movq xmm2, QWORD PTR [rax]
paddd xmm0, xmm1
paddq xmm2, XMMWORD PTR [rax]
psubb xmm0, xmm1
pcmpeqb xmm0, xmm1
pcmpgtd xmm3, xmm4
pand xmm0, xmm1
pandn xmm0, xmm1
por xmm0, xmm1
punpcklbw xmm0, xmm1
punpckhqdq xmm0, xmm1
psllq xmm0, 3
psrad xmm1, 2
psraw xmm1, xmm2
pmovmskb eax, xmm0
pmuludq xmm0, xmm1
shufps xmm0, xmm1, 0x44
pshufb xmm0, xmm1
pinsrd xmm0, eax, 1
pextrq rax, xmm1, 1
pminud xmm0, xmm1
ptest xmm0, xmm1
pmovzxbw xmm0, QWORD PTR [rax]
movmskps eax, xmm1
cvtsi2sd xmm0, rax
cvttsd2si eax, xmm1
addsd xmm0, xmm1
mulps xmm0, xmm1
xorps xmm0, xmm0
ucomisd xmm0, xmm1
ldmxcsr DWORD PTR [rax]
stmxcsr DWORD PTR [rax]
crc32 eax, BYTE PTR [rdi]
crc32 rax, QWORD PTR [rdi]
movbe eax, DWORD PTR [rdi]
movnti QWORD PTR [rdi], rax
endbr64
serialize
rdpid rax
invpcid rax, XMMWORD PTR [rdi]
mov eax, DWORD PTR [rbx+rsi*1+0x12345678]
mov eax, DWORD PTR [rax*4]
mov eax, DWORD PTR [r12+r13*2-0x1]
lea eax, [rax+rax*2]
lea r8, [rip+0]
mov BYTE PTR [rax], ah
mov cx, WORD PTR [rax]
movabs rax, QWORD PTR ds:0x1122334455667788
movabs eax, ds:0x1000
mov eax, 0xffffffff
mov ax, 0xffff
mov ecx, -1
push -129
push 0x12345678
ret 0x10
enter 0x100, 1
retf
xabort 1
