mov ax, 0x10
mov eax, 0x10
mov ax, WORD PTR [bx+si]
mov al, BYTE PTR [bp+6]
mov WORD PTR [di], 1
mov eax, DWORD PTR [ebx+ecx*4]
add ax, bx
add eax, ebx
push ax
push eax
pop ds
push cs
inc ax
dec di
lea si, [bx+di+0x10]
int 0x10
iret
pushf
popf
pusha
popa
lgdt [bx]
mov cr0, eax
cli
hlt
in al, 0x60
out dx, al
rep movsb
rep stosw
jmp 0x8:0x1000
call ax
ret
retf
movzx ax, BYTE PTR [si]
xor eax, eax
cpuid
