mov eax, 0x10
mov eax, DWORD PTR [ebx+ecx*4+8]
mov eax, DWORD PTR ds:0x1000
mov ax, WORD PTR [eax]
mov al, BYTE PTR [bx+si]
mov eax, DWORD PTR [bp+di+4]
push es
pop ds
push ss
pusha
popad
inc eax
dec cx
aaa
daa
aam 10
aad 10
into
bound eax, QWORD PTR [ebx]
arpl WORD PTR [eax], cx
les eax, FWORD PTR [ebx]
lds eax, FWORD PTR [ebx]
jmp 0x8:0x1000
call 0x10:0x2000
jecxz .
jcxz .
pushfd
popfd
iretd
lgdt [eax]
mov cr0, eax
mov eax, cr3
movdqa xmm0, XMMWORD PTR [eax]
sysexit
int 0x80
call DWORD PTR [eax]
jmp FWORD PTR [eax]
