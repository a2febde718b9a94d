package io.weightpub.schemas.signing;

import io.weightpub.schemas.BucketInfo;
import io.weightpub.schemas.ControlAction;
import io.weightpub.schemas.ControlRecord;
import io.weightpub.schemas.TensorMeta;
import io.weightpub.schemas.VersionManifest;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Small but complete records to sign: two buckets of two tensors each, and a rollback request. */
final class SignedRecords {

    private SignedRecords() {}

    static VersionManifest manifest() {
        List<BucketInfo> buckets = new ArrayList<>();
        for (int b = 0; b < 2; b++) {
            byte[] sha = new byte[32];
            for (int i = 0; i < sha.length; i++) {
                sha[i] = (byte) (b * 32 + i);
            }
            buckets.add(BucketInfo.newBuilder().setIndex(b).setOffset(b * 96L).setSizeBytes(96).setChunkCount(2)
                    .setSha256(ByteBuffer.wrap(sha))
                    .setTensors(List.of(
                            tensor("layers." + b + ".q_proj.weight", List.of(4L, 8L), "BF16", 0, 64, 32),
                            tensor("layers." + b + ".norm.weight", List.of(8L), "F32", 64, 96, 8)))
                    .build());
        }
        return VersionManifest.newBuilder().setModelId("meta/llama-3-8b").setStep(42).setPublishId("p-42-a")
                .setSchemaVersion(1).setTotalBytes(192).setChunkSize(64).setBuckets(buckets)
                .setCreatedAtMs(1_700_000_000_000L).build();
    }

    static TensorMeta tensor(String name, List<Long> shape, String dtype, long start, long end, long numel) {
        return TensorMeta.newBuilder().setName(name).setShape(shape).setDtype(dtype).setStartIdx(start)
                .setEndIdx(end).setNumel(numel).build();
    }

    static ControlRecord rollback() {
        return ControlRecord.newBuilder().setModelId("meta/llama-3-8b").setAction(ControlAction.ROLLBACK)
                .setTargetVersion(3L).setRequestId("r-1").setReason("bad eval").setRequestedAtMs(1_700_000_000_500L)
                .build();
    }
}
