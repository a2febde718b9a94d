package io.weightpub.schemas.signing;

import io.weightpub.schemas.signing.internal.KeyIds;
import io.weightpub.schemas.signing.internal.Pem;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a key pair as files openssl reads too: {@code NAME.key.pem}, the PKCS#8 private key,
 * created readable by its owner only (0600), and {@code NAME.pub.pem}, the X.509 public key with
 * its {@code Key-Id:} line (and {@code Models:} when scoped), ready for a verifier's key folder.
 */
@PublicEvolving
public final class KeyFiles {

    private KeyFiles() {}

    /** The files written. */
    public record Written(Path privateKey, Path publicKey, String keyId) {}

    /** Writes {@code key} under {@code dir}; never overwrites an existing file. */
    public static Written write(SigningKey key, Path dir, String name, List<String> modelPatterns) throws IOException {
        KeyIds.check(name, "key file name");
        Files.createDirectories(dir);
        Path privateFile = dir.resolve(name + ".key.pem");
        Path publicFile = dir.resolve(name + ".pub.pem");
        for (Path file : List.of(privateFile, publicFile)) {
            if (Files.exists(file)) {
                throw new FileAlreadyExistsException(file + " exists; refusing to overwrite a key");
            }
        }
        String privatePem = new Pem("PRIVATE KEY", key.pkcs8(), Map.of()).text();
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
        try {
            Files.createFile(privateFile, PosixFilePermissions.asFileAttribute(ownerOnly));
        } catch (UnsupportedOperationException e) {
            throw new IOException(privateFile + ": this file system cannot restrict the private key to its owner", e);
        }
        Files.writeString(privateFile, privatePem, StandardCharsets.US_ASCII);
        Files.writeString(publicFile, key.trusted(modelPatterns).pem(true), StandardCharsets.US_ASCII);
        return new Written(privateFile, publicFile, key.keyId());
    }
}
