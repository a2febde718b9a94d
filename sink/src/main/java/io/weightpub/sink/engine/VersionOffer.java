package io.weightpub.sink.engine;

import io.weightpub.store.ActiveVersion;
import io.weightpub.store.BucketDigest;
import io.weightpub.store.SharedSlot;
import io.weightpub.store.TensorRef;
import io.weightpub.store.VersionInfo;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The {@code version} message (docs/engine-protocol.md) of a leased active version. */
final class VersionOffer {

    private VersionOffer() {}

    static Map<String, Object> message(ActiveVersion lease, SharedSlot slot, int worker, long leaseTimeoutMs, String mode) {
        VersionInfo info = lease.info();
        Map<String, Object> msg = new LinkedHashMap<>();
        msg.put("type", "version");
        msg.put("model", info.modelId());
        msg.put("version", info.version());
        msg.put("contentVersion", info.contentVersion());
        msg.put("step", info.step());
        msg.put("publishId", info.publishId());
        msg.put("sizeBytes", info.sizeBytes());
        msg.put("worker", worker);
        msg.put("mode", mode);
        msg.put("leaseTimeoutMs", leaseTimeoutMs);
        msg.put("memory", memory(slot));
        if (lease.digestScheme().isTree()) {
            msg.put("digest", "sha256-tree");
            msg.put("leafSize", lease.digestScheme().leafSize());
        } else {
            msg.put("digest", "sha256");
        }
        List<Object> tensors = new ArrayList<>();
        for (String name : lease.tensorNames()) {
            TensorRef t = lease.tensor(name).orElseThrow();
            Map<String, Object> tensor = new LinkedHashMap<>();
            tensor.put("name", t.name());
            tensor.put("dtype", t.dtype());
            tensor.put("shape", t.shape());
            tensor.put("offset", t.offset());
            tensor.put("size", t.sizeBytes());
            tensors.add(tensor);
        }
        msg.put("tensors", tensors);
        List<Object> buckets = new ArrayList<>();
        msg.put("buckets", buckets);
        for (BucketDigest b : lease.buckets()) {
            Map<String, Object> bucket = new LinkedHashMap<>();
            buckets.add(bucket);
            bucket.put("index", b.index());
            bucket.put("offset", b.offset());
            bucket.put("size", b.sizeBytes());
            bucket.put("sha256", b.sha256Hex());
        }
        return msg;
    }

    private static Map<String, Object> memory(SharedSlot slot) {
        Map<String, Object> memory = new LinkedHashMap<>();
        switch (slot.kind()) {
            case HOST -> {
                memory.put("kind", "host");
                memory.put("allocation", slot.allocation());
                memory.put("path", slot.path().orElseThrow());
            }
            case CUDA -> {
                memory.put("kind", "cuda");
                memory.put("allocation", slot.allocation());
                memory.put("deviceUuid", slot.deviceUuid().orElseThrow());
                memory.put("ipcHandle", Base64.getEncoder().encodeToString(slot.ipcHandle()));
            }
            default -> throw new IllegalStateException("a slot lives on HOST or CUDA, not " + slot.kind());
        }
        memory.put("offset", slot.offset());
        memory.put("size", slot.sizeBytes());
        return memory;
    }
}
