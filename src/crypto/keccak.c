/* sealroom crypto: Keccak-256 as used by Ethereum (the original Keccak
 * submission's padding 0x01 ... 0x80, not FIPS 202's 0x06), written here
 * because Debian 12's OpenSSL 3.0 has no KECCAK-256.
 *
 * Keccak-f[1600] on 25 64-bit lanes A[x + 5y]; rate 136 bytes (17 lanes),
 * capacity 512 bits, 24 rounds of theta, rho, pi, chi, iota. Bytes are
 * absorbed little-endian into the lanes. */
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#include <string.h>

#define KECCAK_RATE 136
#define KECCAK_ROUNDS 24

/* iota round constants (from the LFSR of the Keccak reference). */
static const uint64_t round_const[KECCAK_ROUNDS] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static inline uint64_t rotl64(uint64_t v, unsigned r)
{
    return r == 0 ? v : (v << r) | (v >> (64 - r));
}

static void keccak_f1600(uint64_t a[25])
{
    uint64_t b[25];
    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        /* theta: column parities C[x], then A[x,y] ^= C[x-1] ^ rotl(C[x+1], 1) */
        uint64_t c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
        uint64_t c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
        uint64_t c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
        uint64_t c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
        uint64_t c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
        uint64_t d0 = c4 ^ rotl64(c1, 1);
        uint64_t d1 = c0 ^ rotl64(c2, 1);
        uint64_t d2 = c1 ^ rotl64(c3, 1);
        uint64_t d3 = c2 ^ rotl64(c4, 1);
        uint64_t d4 = c3 ^ rotl64(c0, 1);
        for (int y = 0; y < 25; y += 5) {
            a[y + 0] ^= d0;
            a[y + 1] ^= d1;
            a[y + 2] ^= d2;
            a[y + 3] ^= d3;
            a[y + 4] ^= d4;
        }
        /* rho and pi: b[y + 5((2x + 3y) mod 5)] = rotl(a[x + 5y], r[x,y]) where
         * r[0,0] = 0 and, starting at (x, y) = (1, 0) and stepping
         * (x, y) -> (y, (2x + 3y) mod 5) for t = 0..23, r[x,y] = (t+1)(t+2)/2
         * mod 64. Written out: */
        b[0] = a[0];
        b[10] = rotl64(a[1], 1);
        b[20] = rotl64(a[2], 62);
        b[5] = rotl64(a[3], 28);
        b[15] = rotl64(a[4], 27);
        b[16] = rotl64(a[5], 36);
        b[1] = rotl64(a[6], 44);
        b[11] = rotl64(a[7], 6);
        b[21] = rotl64(a[8], 55);
        b[6] = rotl64(a[9], 20);
        b[7] = rotl64(a[10], 3);
        b[17] = rotl64(a[11], 10);
        b[2] = rotl64(a[12], 43);
        b[12] = rotl64(a[13], 25);
        b[22] = rotl64(a[14], 39);
        b[23] = rotl64(a[15], 41);
        b[8] = rotl64(a[16], 45);
        b[18] = rotl64(a[17], 15);
        b[3] = rotl64(a[18], 21);
        b[13] = rotl64(a[19], 8);
        b[14] = rotl64(a[20], 18);
        b[24] = rotl64(a[21], 2);
        b[9] = rotl64(a[22], 61);
        b[19] = rotl64(a[23], 56);
        b[4] = rotl64(a[24], 14);
        /* chi: A[x,y] = B[x,y] ^ (~B[x+1,y] & B[x+2,y]) */
        for (int y = 0; y < 25; y += 5) {
            uint64_t b0 = b[y], b1 = b[y + 1], b2 = b[y + 2], b3 = b[y + 3], b4 = b[y + 4];
            a[y + 0] = b0 ^ (~b1 & b2);
            a[y + 1] = b1 ^ (~b2 & b3);
            a[y + 2] = b2 ^ (~b3 & b4);
            a[y + 3] = b3 ^ (~b4 & b0);
            a[y + 4] = b4 ^ (~b0 & b1);
        }
        /* iota */
        a[0] ^= round_const[round];
    }
}

void sr_keccak256_init(sr_keccak_ctx *c)
{
    memset(c->state, 0, sizeof c->state);
    c->pos = 0;
}

static inline void absorb_byte(sr_keccak_ctx *c, size_t at, uint8_t v)
{
    c->state[at / 8] ^= (uint64_t)v << (8 * (at % 8));
}

void sr_keccak256_update(sr_keccak_ctx *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    /* finish a partial block byte by byte */
    while (n > 0 && c->pos != 0) {
        absorb_byte(c, c->pos, *p++);
        n--;
        if (++c->pos == KECCAK_RATE) {
            keccak_f1600(c->state);
            c->pos = 0;
        }
    }
    /* whole blocks, lane by lane */
    while (n >= KECCAK_RATE) {
        for (int i = 0; i < KECCAK_RATE / 8; i++)
            c->state[i] ^= sr_load_le64(p + 8 * i);
        keccak_f1600(c->state);
        p += KECCAK_RATE;
        n -= KECCAK_RATE;
    }
    /* the tail (pos is 0 here if any bytes remain) */
    while (n > 0) {
        absorb_byte(c, c->pos++, *p++);
        n--;
    }
}

void sr_keccak256_final(sr_keccak_ctx *c, uint8_t out[SR_KECCAK256_LEN])
{
    absorb_byte(c, c->pos, 0x01);
    absorb_byte(c, KECCAK_RATE - 1, 0x80);
    keccak_f1600(c->state);
    for (int i = 0; i < SR_KECCAK256_LEN / 8; i++)
        sr_store_le64(out + 8 * i, c->state[i]);
    sr_memzero(c, sizeof *c);
}

void sr_keccak256(const void *data, size_t n, uint8_t out[SR_KECCAK256_LEN])
{
    sr_keccak_ctx c;
    sr_keccak256_init(&c);
    sr_keccak256_update(&c, data, n);
    sr_keccak256_final(&c, out);
}
