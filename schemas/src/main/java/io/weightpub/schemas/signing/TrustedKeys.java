package io.weightpub.schemas.signing;

import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/** A set of trusted public keys by key id: one PEM file, or every {@code *.pem} file of a folder. */
@PublicEvolving
public final class TrustedKeys implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final TrustedKeys NONE = new TrustedKeys(List.of());

    private final Map<String, TrustedKey> byId;

    private TrustedKeys(Collection<TrustedKey> keys) {
        Map<String, TrustedKey> map = new LinkedHashMap<>();
        for (TrustedKey key : keys) {
            TrustedKey earlier = map.putIfAbsent(key.keyId(), key);
            if (earlier != null) {
                throw new IllegalArgumentException("key id '" + key.keyId() + "' is given to two keys: "
                        + earlier.source() + " and " + key.source());
            }
        }
        this.byId = map;
    }

    public static TrustedKeys none() {
        return NONE;
    }

    public static TrustedKeys of(Collection<TrustedKey> keys) {
        return new TrustedKeys(keys);
    }

    /**
     * Loads a public key PEM file, or every {@code *.pem} file directly in a folder (sorted by name).
     * A private key, a folder without keys, or two keys with one id are errors, never skipped.
     */
    public static TrustedKeys load(Path fileOrFolder) throws IOException {
        List<TrustedKey> keys = new ArrayList<>();
        if (Files.isDirectory(fileOrFolder)) {
            try (Stream<Path> files = Files.list(fileOrFolder)) {
                for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".pem")).sorted().toList()) {
                    keys.add(TrustedKey.load(file));
                }
            }
            if (keys.isEmpty()) {
                throw new IOException(fileOrFolder + ": holds no *.pem public key files");
            }
        } else {
            keys.add(TrustedKey.load(fileOrFolder));
        }
        try {
            return new TrustedKeys(keys);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    public Optional<TrustedKey> find(String keyId) {
        return Optional.ofNullable(byId.get(keyId));
    }

    public boolean isEmpty() {
        return byId.isEmpty();
    }

    public Collection<TrustedKey> keys() {
        return byId.values();
    }

    @Override
    public String toString() {
        return byId.values().toString();
    }
}
