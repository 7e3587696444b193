# the bench guest's multiboot → long mode stub (/work/shared/bench/boot64.S), in Intel syntax
.code32
_start:
  mov esp, OFFSET stack_top
  mov eax, OFFSET pdpt ; or eax, 3 ; mov DWORD PTR pml4, eax
  mov eax, OFFSET pd   ; or eax, 3 ; mov DWORD PTR pdpt, eax
  xor ecx, ecx
1: mov eax, ecx ; shl eax, 21 ; or eax, 0x83
  mov DWORD PTR pd[ecx*8], eax ; mov DWORD PTR pd+4[ecx*8], 0
  inc ecx ; cmp ecx, 512 ; jne 1b
  mov eax, cr4 ; or eax, 0x620 ; mov cr4, eax
  mov eax, OFFSET pml4 ; mov cr3, eax
  mov ecx, 0xC0000080 ; rdmsr ; or eax, 0x100 ; wrmsr
  mov eax, cr0 ; or eax, 0x80000001 ; mov cr0, eax
  lgdt gdtr
  jmp 0x08:long_entry
.code64
long_entry:
  mov ax, 0x10 ; mov ds, ax ; mov es, ax ; mov ss, ax
  mov esp, OFFSET stack_top   # (rsp in boot64.S; an ELF32 object cannot hold that relocation)
2: cli ; hlt ; jmp 2b
.align 8, 0
gdt:  .quad 0, 0x00209A0000000000, 0x0000920000000000
gdtr: .word 23
      .long gdt
.align 4096, 0
pml4: .zero 4096
pdpt: .zero 4096
pd:   .zero 4096
stack_top:
