@ MiniMon startup: cartridge header, stacks, RAM init, IRQ handler. Facts from GBATEK
@ ("GBA Cartridge Header", "BIOS RAM Usage", "Interrupt Control").

    .syntax unified
    .section .text.crt0, "ax"
    .arm
    .global _start
_start:
    b       reset
    @ 0x04-0x9F: the Nintendo logo area, left zero. mGBA boots without a BIOS and does
    @ not check it, and we must not ship Nintendo's logo.
    .fill   156, 1, 0
    .ifdef QUEST                    @ MiniMon Quest (assembled with --defsym QUEST=1)
    .ascii  "MINIMONQUEST"          @ 0xA0: title, 12 bytes
    .ascii  "MNMQ"                  @ 0xAC: game code
    .else
    .ascii  "MINIMON"               @ 0xA0: title, 12 bytes
    .fill   5, 1, 0
    .ascii  "MNMN"                  @ 0xAC: game code
    .endif
    .ascii  "PJ"                    @ 0xB0: maker code (pokeil-jax)
    .byte   0x96                    @ 0xB2: fixed value
    .byte   0                       @ 0xB3: main unit code
    .byte   0                       @ 0xB4: device type
    .fill   7, 1, 0                 @ 0xB5-0xBB: reserved
    .byte   0                       @ 0xBC: software version
    @ 0xBD: complement check, -(sum of bytes 0xA0..0xBC + 0x19) mod 256. Recompute it
    @ if any header byte above changes (tests/test_minimon.py checks it).
    .ifdef QUEST
    .byte   0xD5
    .else
    .byte   0x6A
    .endif
    .fill   2, 1, 0                 @ 0xBE-0xBF: reserved

reset:
    msr     cpsr_c, #0xD2           @ IRQ mode, interrupts masked
    ldr     sp, =0x03007FA0
    msr     cpsr_c, #0x1F           @ System mode, IRQs allowed
    ldr     sp, =0x03007F00

    ldr     r0, =__data_lma         @ copy initialised IWRAM data from ROM
    ldr     r1, =__data_start
    ldr     r2, =__data_end
1:  cmp     r1, r2
    ldrlo   r3, [r0], #4
    strlo   r3, [r1], #4
    blo     1b

    mov     r3, #0
    ldr     r1, =__bss_start        @ zero IWRAM .bss
    ldr     r2, =__bss_end
2:  cmp     r1, r2
    strlo   r3, [r1], #4
    blo     2b
    ldr     r1, =__ewram_start      @ zero EWRAM (the state struct and shadow buffers)
    ldr     r2, =__ewram_end
3:  cmp     r1, r2
    strlo   r3, [r1], #4
    blo     3b

    ldr     r0, =0x03007FFC         @ the BIOS jumps through this word on an interrupt
    ldr     r1, =irq_handler
    str     r1, [r0]

    ldr     r0, =main
    mov     lr, pc
    bx      r0
4:  b       4b

@ Called by the BIOS in ARM mode with r0-r3, r12, lr saved. Acknowledges the interrupts,
@ reports them to VBlankIntrWait through the BIOS flag word at 0x03007FF8, and counts
@ VBlanks in the state struct's frame_counter (offset 0x10, asserted in src/state.h).
    .global irq_handler
irq_handler:
    mov     r0, #0x04000000
    ldr     r1, [r0, #0x200]        @ IE in the low half, IF in the high half
    and     r1, r1, r1, lsr #16     @ pending and enabled
    add     r2, r0, #0x200
    strh    r1, [r2, #2]            @ writing 1s to IF acknowledges
    ldr     r2, =0x03007FF8
    ldrh    r3, [r2]
    orr     r3, r3, r1
    strh    r3, [r2]
    tst     r1, #1                  @ VBlank?
    ldrne   r2, =minimon_state + 0x10
    ldrne   r3, [r2]
    addne   r3, r3, #1
    strne   r3, [r2]
    bx      lr

    .pool
