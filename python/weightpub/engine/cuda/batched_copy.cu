// Copies many byte spans (a version's tensors into an engine's parameters) in one kernel launch.
// One launch per tensor costs ~10 us each, which for a model of hundreds of tensors is most of an
// apply; here the spans are cut into fixed chunks and every block takes chunks from all of them, so
// one large tensor and many small ones keep every SM busy alike.
//
// Compiled to PTX by scripts/engine-ptx.py (NVRTC, no nvcc) and loaded by weightpub/engine/copy.py.

struct Span {
    unsigned long long src;
    unsigned long long dst;
    unsigned long long bytes;
};

struct alignas(16) Vec16 {
    unsigned long long lo;
    unsigned long long hi;
};

// firstChunk[s] is the index of span s's first chunk (spans of no bytes are left out by the caller);
// chunkBytes is a multiple of 16, so a chunk of an aligned span starts aligned.
extern "C" __global__ void __launch_bounds__(256)
weightpub_batched_copy(const Span* __restrict__ spans, const unsigned long long* __restrict__ firstChunk,
                       int count, unsigned long long totalChunks, unsigned long long chunkBytes) {
    for (unsigned long long c = blockIdx.x; c < totalChunks; c += gridDim.x) {
        int lo = 0;
        int hi = count - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >> 1;
            if (firstChunk[mid] <= c) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        const Span span = spans[lo];
        unsigned long long begin = (c - firstChunk[lo]) * chunkBytes;
        unsigned long long end = begin + chunkBytes < span.bytes ? begin + chunkBytes : span.bytes;
        const unsigned char* src = reinterpret_cast<const unsigned char*>(span.src);
        unsigned char* dst = reinterpret_cast<unsigned char*>(span.dst);
        unsigned long long bytewise = begin;
        if (((span.src | span.dst) & 15ULL) == 0) {
            unsigned long long vectorEnd = begin + ((end - begin) & ~15ULL);
            const unsigned long long stride = 16ULL * blockDim.x;
            unsigned long long i = begin + 16ULL * threadIdx.x;
            // Four loads in flight per thread before their stores: one at a time leaves HBM idle.
            for (; i + 3 * stride < vectorEnd; i += 4 * stride) {
                Vec16 a = *reinterpret_cast<const Vec16*>(src + i);
                Vec16 b = *reinterpret_cast<const Vec16*>(src + i + stride);
                Vec16 c2 = *reinterpret_cast<const Vec16*>(src + i + 2 * stride);
                Vec16 d = *reinterpret_cast<const Vec16*>(src + i + 3 * stride);
                *reinterpret_cast<Vec16*>(dst + i) = a;
                *reinterpret_cast<Vec16*>(dst + i + stride) = b;
                *reinterpret_cast<Vec16*>(dst + i + 2 * stride) = c2;
                *reinterpret_cast<Vec16*>(dst + i + 3 * stride) = d;
            }
            for (; i < vectorEnd; i += stride) {
                *reinterpret_cast<Vec16*>(dst + i) = *reinterpret_cast<const Vec16*>(src + i);
            }
            bytewise = vectorEnd;
        }
        for (unsigned long long i = bytewise + threadIdx.x; i < end; i += blockDim.x) {
            dst[i] = src[i];
        }
    }
}
