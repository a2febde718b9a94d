package io.weightpub.schemas.signing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static io.weightpub.schemas.signing.SignedRecords.manifest;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class KeyFilesTest {

    /** Made with {@code openssl genpkey -algorithm ed25519} and {@code openssl pkey -pubout} (OpenSSL 3.0). */
    private static final String OPENSSL_KEY_ID = "ef8f8fb9b7017e40";

    @TempDir
    Path dir;

    @Test
    void keysWrittenAsPkcs8AndX509PemLoadBackAndSignAndVerify() throws IOException {
        SigningKey generated = SigningKey.generate();
        KeyFiles.Written files = KeyFiles.write(generated, dir, "trainer", List.of("meta/*"));

        assertThat(files.privateKey()).hasFileName("trainer.key.pem");
        assertThat(Files.getPosixFilePermissions(files.privateKey()))
                .isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(files.privateKey())).startsWith("-----BEGIN PRIVATE KEY-----\n")
                .endsWith("-----END PRIVATE KEY-----\n");
        assertThat(Files.readString(files.publicKey())).startsWith("Key-Id: " + generated.keyId()
                + "\nModels: meta/*\n-----BEGIN PUBLIC KEY-----\n");

        SigningKey loaded = SigningKey.load(files.privateKey());
        assertThat(loaded.keyId()).isEqualTo(generated.keyId()).isEqualTo(files.keyId());
        assertThat(loaded.publicKey()).as("derived from the private key").isEqualTo(generated.publicKey());
        TrustedKey trusted = TrustedKey.load(files.publicKey());
        assertThat(trusted.keyId()).isEqualTo(generated.keyId());
        assertThat(trusted.modelPatterns()).containsExactly("meta/*");

        SignatureVerifier verifier =
                SignatureVerifier.builder().publisherKeys(TrustedKeys.load(files.publicKey())).build();
        assertThat(verifier.checkManifest(new RecordSigner(loaded).sign(manifest()))).isEmpty();
        assertThatThrownBy(() -> TrustedKeys.load(dir)).as("a private key in a trusted folder")
                .hasMessageContaining("trainer.key.pem: is a private key");
        assertThatThrownBy(() -> KeyFiles.write(generated, dir, "trainer", List.of()))
                .isInstanceOf(FileAlreadyExistsException.class);
    }

    @Test
    void keysMadeByOpensslLoadWithTheFingerprintAsKeyId() throws Exception {
        SigningKey key = SigningKey.load(resource("openssl-trainer.key.pem"));
        TrustedKey trusted = TrustedKey.load(resource("openssl-trainer.pub.pem"));
        // The id openssl and sha256sum compute: `openssl pkey -pubin -outform DER | sha256sum | cut -c1-16`.
        assertThat(key.keyId()).isEqualTo(OPENSSL_KEY_ID);
        assertThat(trusted.keyId()).isEqualTo(OPENSSL_KEY_ID);
        assertThat(trusted.modelPatterns()).isEmpty();
        assertThat(trusted.allows("any/model")).isTrue();
        SignatureVerifier verifier = SignatureVerifier.builder()
                .publisherKeys(TrustedKeys.of(List.of(trusted))).build();
        assertThat(verifier.checkManifest(new RecordSigner(key).sign(manifest()))).isEmpty();
    }

    @Test
    void keyIdAndModelLinesBeforeThePemBlockNameAndScopeAKey() throws Exception {
        String body = Files.readString(resource("openssl-trainer.pub.pem"));
        Path file = dir.resolve("trainer-a.pem");
        Files.writeString(file, "# the trainer of team A\nKey-Id: trainer-a\nModels: meta/*, qwen/?b\n" + body);
        TrustedKey trusted = TrustedKey.load(file);
        assertThat(trusted.keyId()).isEqualTo("trainer-a");
        assertThat(trusted.modelPatterns()).containsExactly("meta/*", "qwen/?b");
        assertThat(trusted.allows("meta/llama/3")).isTrue();
        assertThat(trusted.allows("qwen/7b")).isTrue();
        assertThat(trusted.allows("qwen/72b")).isFalse();

        SigningKey key = SigningKey.load(resource("openssl-trainer.key.pem")).withKeyId("trainer-a");
        SignatureVerifier verifier = SignatureVerifier.builder().publisherKeys(TrustedKeys.load(file)).build();
        assertThat(verifier.checkManifest(new RecordSigner(key).sign(manifest()))).isEmpty();
    }

    @Test
    void privateKeysRsaKeysEmptyFoldersAndDuplicateIdsAreRefusedByName() throws Exception {
        Files.copy(resource("openssl-trainer.key.pem"), dir.resolve("oops.pem"));
        assertThatThrownBy(() -> TrustedKeys.load(dir)).hasMessageContaining("oops.pem: is a private key");
        Files.delete(dir.resolve("oops.pem"));

        assertThatThrownBy(() -> TrustedKeys.load(dir)).hasMessageContaining("holds no *.pem public key files");
        assertThatThrownBy(() -> TrustedKey.load(resource("rsa.pub.pem")))
                .hasMessageContaining("rsa.pub.pem: not an Ed25519 public key");
        assertThatThrownBy(() -> SigningKey.load(resource("openssl-trainer.pub.pem")))
                .hasMessageContaining("expected a PKCS#8 '-----BEGIN PRIVATE KEY-----' block, found 'PUBLIC KEY'");

        Files.copy(resource("openssl-trainer.pub.pem"), dir.resolve("a.pem"));
        Files.copy(resource("openssl-trainer.pub.pem"), dir.resolve("b.pem"));
        assertThatThrownBy(() -> TrustedKeys.load(dir)).hasMessageContaining(
                "key id '" + OPENSSL_KEY_ID + "' is given to two keys");
        Path notPem = dir.resolve("c.txt");
        Files.writeString(notPem, "hello");
        assertThatThrownBy(() -> TrustedKey.load(notPem)).hasMessageContaining("c.txt: no PEM block");
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(KeyFilesTest.class.getResource(name).toURI());
    }
}
