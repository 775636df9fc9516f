/* GBA hardware registers and types used by MiniMon (addresses and bit meanings from
   GBATEK: "LCD I/O Display Control", "LCD I/O BG Control", "LCD OBJ - OAM Attributes",
   "LCD I/O Color Special Effects", "Keypad Input", "DMA Transfers", "Interrupt Control"). */
#ifndef MINIMON_GBA_H
#define MINIMON_GBA_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef signed char s8;
typedef signed short s16;
typedef signed int s32;

#define REG16(a) (*(volatile u16 *)(a))
#define REG32(a) (*(volatile u32 *)(a))

#define REG_DISPCNT   REG16(0x04000000)
#define REG_DISPSTAT  REG16(0x04000004)
#define REG_BG0CNT    REG16(0x04000008)
#define REG_BG1CNT    REG16(0x0400000A)
#define REG_BG0HOFS   REG16(0x04000010)
#define REG_BG0VOFS   REG16(0x04000012)
#define REG_BG1HOFS   REG16(0x04000014)
#define REG_BG1VOFS   REG16(0x04000016)
#define REG_BLDCNT    REG16(0x04000050)
#define REG_BLDY      REG16(0x04000054)
#define REG_KEYINPUT  REG16(0x04000130)
#define REG_IE        REG16(0x04000200)
#define REG_IME       REG16(0x04000208)

#define REG_DMA3SAD   REG32(0x040000D4)
#define REG_DMA3DAD   REG32(0x040000D8)
#define REG_DMA3CNT   REG32(0x040000DC)
#define DMA_ENABLE    (1u << 31)
#define DMA_32BIT     (1u << 26)
#define DMA_SRC_FIXED (2u << 23)

#define DCNT_MODE0    0x0000
#define DCNT_BLANK    0x0080
#define DCNT_OBJ_1D   0x0040
#define DCNT_BG0      0x0100
#define DCNT_BG1      0x0200
#define DCNT_OBJ      0x1000

#define BGCNT_PRIO(n) (n)
#define BGCNT_CBB(n)  ((n) << 2)
#define BGCNT_SBB(n)  ((n) << 8)

#define DSTAT_VBL_IRQ 0x0008
#define IRQ_VBLANK    0x0001

/* Blend: brightness decrease on every layer and the backdrop. */
#define BLD_ALL_DARKEN ((0x3F) | (3 << 6))

#define PAL_BG   ((volatile u16 *)0x05000000)
#define PAL_OBJ  ((volatile u16 *)0x05000200)
#define VRAM     ((volatile u16 *)0x06000000)
#define VRAM_OBJ ((volatile u16 *)0x06010000)
#define OAM      ((volatile u16 *)0x07000000)

/* KEYINPUT bits (0 = pressed in hardware; keys_update inverts them). */
#define KEY_A      0x0001
#define KEY_B      0x0002
#define KEY_SELECT 0x0004
#define KEY_START  0x0008
#define KEY_RIGHT  0x0010
#define KEY_LEFT   0x0020
#define KEY_UP     0x0040
#define KEY_DOWN   0x0080
#define KEY_R      0x0100
#define KEY_L      0x0200
#define KEY_MASK   0x03FF

/* OAM attribute bits. */
#define ATTR0_HIDE     0x0200
#define ATTR0_SQUARE   0x0000
#define ATTR0_WIDE     0x4000
#define ATTR0_TALL     0x8000
#define ATTR1_HFLIP    0x1000
#define ATTR1_SIZE(n)  ((n) << 14)
#define ATTR2_PRIO(n)  ((n) << 10)
#define ATTR2_PAL(n)   ((n) << 12)

/* Halt until the next VBlank interrupt (BIOS SWI 0x05); the emulator idles meanwhile. */
static inline void vblank_intr_wait(void) {
    __asm__ volatile("swi 0x05" ::: "r0", "r1", "r2", "r3", "memory");
}

static inline void dma3_copy32(volatile void *dst, const void *src, u32 words) {
    REG_DMA3SAD = (u32)src;
    REG_DMA3DAD = (u32)dst;
    REG_DMA3CNT = words | DMA_32BIT | DMA_ENABLE;
}

/* `value` must be in RAM: a fixed source address in cartridge ROM still increments. */
static inline void dma3_fill32(volatile void *dst, const u32 *value, u32 words) {
    REG_DMA3SAD = (u32)value;
    REG_DMA3DAD = (u32)dst;
    REG_DMA3CNT = words | DMA_32BIT | DMA_SRC_FIXED | DMA_ENABLE;
}

/* gcc may emit calls to these even when freestanding (struct copies, zeroing loops). */
void *memcpy(void *dst, const void *src, unsigned n);
void *memset(void *dst, int c, unsigned n);

#endif
