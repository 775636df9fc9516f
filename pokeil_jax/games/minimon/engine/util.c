/* Small freestanding helpers: memory, strings, numbers, random numbers. */
#include "game.h"

void *memcpy(void *dst, const void *src, unsigned n) {
    u8 *d = dst;
    const u8 *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, unsigned n) {
    u8 *d = dst;
    while (n--) *d++ = (u8)c;
    return dst;
}

/* murmur3's 32-bit finaliser over seed and salt: every output bit depends on every input bit. */
u32 hash32(u32 seed, u32 salt) {
    u32 h = seed ^ (salt * 0x9E3779B9u);
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

u32 pick(u32 value, u32 n) { return ((value >> 16) * n) >> 16; }

u32 rng_next(void) {
    u32 x = ST.rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ST.rng = x;
    return x;
}

char *str_put(char *dst, const char *src) {
    while (*src) *dst++ = *src++;
    *dst = 0;
    return dst;
}

char *str_num(char *dst, u32 n) {
    char tmp[10];
    int len = 0;
    do {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (len) *dst++ = tmp[--len];
    *dst = 0;
    return dst;
}
