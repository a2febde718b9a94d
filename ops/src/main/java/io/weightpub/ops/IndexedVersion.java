package io.weightpub.ops;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;

/**
 * One published version of a model as the version index records it, and whether its bytes are
 * still in Kafka.
 *
 * @param contentVersion the version whose bytes this version carries (differs after a rollback)
 * @param manifestSha256 hex SHA-256 of the manifest record
 * @param reason         why the version exists: {@code publish}, or the rollback that made it
 * @param retained       every chunk range of the version is still in its chunks topic
 * @param evicted        the chunk ranges that are not (empty when retained), each saying why
 * @param keyId          id of the publisher key whose manifest signature the job verified; null when unsigned
 */
@PublicEvolving
public record IndexedVersion(
        String modelId,
        long version,
        long contentVersion,
        long step,
        String publishId,
        long totalBytes,
        String manifestSha256,
        long completedAtMs,
        String reason,
        boolean retained,
        List<String> evicted,
        String keyId) {

    public IndexedVersion {
        evicted = List.copyOf(evicted);
    }

    public boolean isRollback() {
        return contentVersion != version;
    }
}
