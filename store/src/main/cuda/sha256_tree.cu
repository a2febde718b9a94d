// SHA-256 tree digest of a bucket in device memory (weightpub wire format, digest kind SHA256_TREE):
// the bucket is cut into leaves of leaf_size bytes (a power of two, the last leaf shorter), every
// leaf is hashed with SHA-256, and the bucket's digest is SHA-256 over the 32-byte leaf digests laid
// end to end. sha256_leaves hashes every leaf of one bucket, one thread per leaf; sha256_root hashes
// the leaf digests into the root (32 bytes, all that crosses back to the host). No headers: NVRTC
// compiles it as is (scripts/cuda-ptx.py).

typedef unsigned int u32;
typedef unsigned long long u64;

__constant__ u32 K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

__device__ __forceinline__ u32 rotr(u32 x, int n) { return __funnelshift_r(x, x, n); }
__device__ __forceinline__ u32 bswap(u32 x) { return __byte_perm(x, 0, 0x0123); }

__device__ __forceinline__ void compress(u32 s[8], u32 w[16]) {
    u32 a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
#pragma unroll
    for (int i = 0; i < 64; i++) {
        if (i >= 16) {
            u32 w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
            u32 s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
            u32 s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
            w[i & 15] += s0 + w[(i - 7) & 15] + s1;
        }
        u32 t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i & 15];
        u32 t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

// SHA-256 of len bytes at p into out (32 bytes, big-endian words as the standard writes them).
__device__ void sha256_range(const unsigned char* __restrict__ p, u64 len, unsigned char* __restrict__ out) {
    u32 s[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    u32 w[16];
    u64 full = len >> 6;
    if ((((u64) p) & 15) == 0) {
        // Aligned: four 16-byte read-only loads a block.
        const uint4* q = (const uint4*) p;
        for (u64 blk = 0; blk < full; blk++) {
#pragma unroll
            for (int j = 0; j < 4; j++) {
                uint4 v = __ldg(q + blk * 4 + j);
                w[4 * j] = bswap(v.x); w[4 * j + 1] = bswap(v.y); w[4 * j + 2] = bswap(v.z); w[4 * j + 3] = bswap(v.w);
            }
            compress(s, w);
        }
    } else {
        // A bucket may start at any byte of a slot: assemble the words byte by byte.
        for (u64 blk = 0; blk < full; blk++) {
            const unsigned char* b = p + blk * 64;
#pragma unroll
            for (int j = 0; j < 16; j++) {
                w[j] = ((u32) __ldg(b + 4 * j) << 24) | ((u32) __ldg(b + 4 * j + 1) << 16)
                        | ((u32) __ldg(b + 4 * j + 2) << 8) | (u32) __ldg(b + 4 * j + 3);
            }
            compress(s, w);
        }
    }
    // The tail (shorter than a block), the 0x80 terminator and the bit length.
    u32 rest = (u32) (len & 63);
    const unsigned char* t = p + (full << 6);
#pragma unroll
    for (int j = 0; j < 16; j++) w[j] = 0;
    for (u32 i = 0; i < rest; i++) w[i >> 2] |= (u32) t[i] << (24 - 8 * (i & 3));
    w[rest >> 2] |= 0x80u << (24 - 8 * (rest & 3));
    if (rest >= 56) {
        compress(s, w);
#pragma unroll
        for (int j = 0; j < 16; j++) w[j] = 0;
    }
    u64 bits = len << 3;
    w[14] = (u32) (bits >> 32);
    w[15] = (u32) bits;
    compress(s, w);
#pragma unroll
    for (int j = 0; j < 8; j++) {
        out[4 * j] = (unsigned char) (s[j] >> 24);
        out[4 * j + 1] = (unsigned char) (s[j] >> 16);
        out[4 * j + 2] = (unsigned char) (s[j] >> 8);
        out[4 * j + 3] = (unsigned char) s[j];
    }
}

// One thread per leaf of the bucket [data, data + size); leaf i's digest goes to digests + 32 i.
extern "C" __global__ void sha256_leaves(const unsigned char* __restrict__ data, u64 size, u64 leaf_size,
                                         unsigned char* __restrict__ digests) {
    u64 leaf = (u64) blockIdx.x * blockDim.x + threadIdx.x;
    u64 start = leaf * leaf_size;
    if (start >= size) return;
    u64 len = size - start < leaf_size ? size - start : leaf_size;
    sha256_range(data + start, len, digests + 32 * leaf);
}

// The bucket's digest: SHA-256 over its leaf_count leaf digests. One thread.
extern "C" __global__ void sha256_root(const unsigned char* __restrict__ digests, u64 leaf_count,
                                       unsigned char* __restrict__ root) {
    if (blockIdx.x == 0 && threadIdx.x == 0) sha256_range(digests, 32 * leaf_count, root);
}
