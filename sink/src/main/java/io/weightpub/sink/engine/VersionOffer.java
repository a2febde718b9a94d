package io.weightpub.sink.engine;

import io.weightpub.sink.ActiveVersion;
import io.weightpub.sink.BucketDigest;
import io.weightpub.sink.SharedSlot;
import io.weightpub.sink.TensorRef;
import io.weightpub.sink.VersionInfo;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ArrayNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Base64;

/** The {@code version} message (docs/engine-protocol.md) of a leased active version. */
final class VersionOffer {

    private VersionOffer() {}

    static ObjectNode message(ActiveVersion lease, SharedSlot slot, int worker, long leaseTimeoutMs, String mode) {
        VersionInfo info = lease.info();
        ObjectNode msg = EngineFrames.JSON.createObjectNode();
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
        msg.set("memory", memory(slot));
        msg.put("digest", "sha256");
        ArrayNode tensors = msg.putArray("tensors");
        for (String name : lease.tensorNames()) {
            TensorRef t = lease.tensor(name).orElseThrow();
            ObjectNode tensor = tensors.addObject();
            tensor.put("name", t.name());
            tensor.put("dtype", t.dtype());
            ArrayNode shape = tensor.putArray("shape");
            t.shape().forEach(shape::add);
            tensor.put("offset", t.offset());
            tensor.put("size", t.sizeBytes());
        }
        ArrayNode buckets = msg.putArray("buckets");
        for (BucketDigest b : lease.buckets()) {
            ObjectNode bucket = buckets.addObject();
            bucket.put("index", b.index());
            bucket.put("offset", b.offset());
            bucket.put("size", b.sizeBytes());
            bucket.put("sha256", b.sha256Hex());
        }
        return msg;
    }

    private static ObjectNode memory(SharedSlot slot) {
        ObjectNode memory = EngineFrames.JSON.createObjectNode();
        switch (slot.kind()) {
            case HOST -> {
                memory.put("kind", "host");
                memory.put("path", slot.path().orElseThrow());
            }
            case CUDA -> {
                memory.put("kind", "cuda");
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
