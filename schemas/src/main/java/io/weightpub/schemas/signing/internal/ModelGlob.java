package io.weightpub.schemas.signing.internal;

import org.apache.flink.annotation.Internal;

/** Model-id patterns: {@code *} matches any run of characters ({@code /} included), {@code ?} one; the rest is literal. */
@Internal
public final class ModelGlob {

    private ModelGlob() {}

    public static boolean matches(String pattern, String modelId) {
        return matches(pattern, 0, modelId, 0);
    }

    private static boolean matches(String pattern, int p, String s, int i) {
        // Iterative with one backtrack point: linear enough for short ids, never exponential.
        int starP = -1;
        int starI = -1;
        while (i < s.length()) {
            if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == s.charAt(i))) {
                p++;
                i++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                starP = p++;
                starI = i;
            } else if (starP >= 0) {
                p = starP + 1;
                i = ++starI;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
    }
}
