# labels, forward references, short/near jump relaxation, alignment and data
start:
    xor eax, eax
    mov ecx, 100
    lea rsi, [rip+table]
loop_top:
    add eax, DWORD PTR [rsi+rcx*4]
    dec ecx
    jnz loop_top
    test eax, eax
    je far_away
    jmp done
    .align 16
filler:
    .zero 200
far_away:
    call helper
    jmp loop_top
helper:
    mov rax, QWORD PTR [rip+value]
    ret
done:
    cmp eax, 5
    jb start
    hlt
    .p2align 3
value:
    .quad 0x1122334455667788
table:
    .long 1, 2, 3, -1
    .word 0x1234
    .byte 1, 2, 0xff
    .ascii "hi"
    .asciz "tdx"
# mixed modes in one image, as boot code needs
    .code32
boot32:
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    jmp boot32
    .code64
    mov rax, cr4
    ret
