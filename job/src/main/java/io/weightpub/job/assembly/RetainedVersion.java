package io.weightpub.job.assembly;

/**
 * A published version the job still holds in state: its encoded version-index entry (offsets,
 * digests) and its encoded manifest, enough to roll back to it or to restore it from Kafka.
 */
final class RetainedVersion {

    final byte[] indexEntry;
    final byte[] manifest;

    RetainedVersion(byte[] indexEntry, byte[] manifest) {
        this.indexEntry = indexEntry;
        this.manifest = manifest;
    }
}
