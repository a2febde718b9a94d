package io.weightpub.schemas.signing.internal;

import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One PEM block (RFC 7468) with the {@code Name: value} lines written before it. Text outside the
 * armor is explanatory text to openssl, so keys with such headers stay usable by other tools.
 */
@Internal
public record Pem(String label, byte[] der, Map<String, String> headers) {

    private static final String BEGIN = "-----BEGIN ";
    private static final String END = "-----END ";
    private static final String DASHES = "-----";

    /** Reads the single PEM block of {@code file}; header names are lower-cased. */
    public static Pem read(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        int begin = text.indexOf(BEGIN);
        if (begin < 0) {
            throw new IOException(file + ": no PEM block (-----BEGIN ...-----)");
        }
        int labelEnd = text.indexOf(DASHES, begin + BEGIN.length());
        if (labelEnd < 0) {
            throw new IOException(file + ": malformed PEM begin line");
        }
        String label = text.substring(begin + BEGIN.length(), labelEnd);
        String endLine = END + label + DASHES;
        int end = text.indexOf(endLine, labelEnd);
        if (end < 0) {
            throw new IOException(file + ": PEM block '" + label + "' has no " + endLine + " line");
        }
        if (text.indexOf(BEGIN, end) >= 0) {
            throw new IOException(file + ": holds more than one PEM block; keep one key per file");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text.substring(labelEnd + DASHES.length(), end));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": PEM block '" + label + "' is not base64: " + e.getMessage(), e);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String line : text.substring(0, begin).split("\\R")) {
            int colon = line.indexOf(':');
            if (!line.startsWith("#") && colon > 0) {
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
            }
        }
        return new Pem(label, der, Map.copyOf(headers));
    }

    /** The PEM text: header lines, then the base64 body in 64-character lines, as openssl writes it. */
    public String text() {
        StringBuilder out = new StringBuilder();
        headers.forEach((name, value) -> out.append(name).append(": ").append(value).append('\n'));
        out.append(BEGIN).append(label).append(DASHES).append('\n');
        out.append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)).append('\n');
        out.append(END).append(label).append(DASHES).append('\n');
        return out.toString();
    }
}
