package io.cy.coordinator.transport.netty;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Certificates and private keys read from PEM files with the JDK alone, so that a file that is
 * missing, unreadable, not PEM or of the wrong kind is reported by name before any TLS engine
 * sees it. Every failure is an {@link IllegalArgumentException} whose message starts with the
 * file and never contains key material.
 */
public final class PemFiles {

    private static final Pattern KEY_BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z ]*)PRIVATE KEY-----([A-Za-z0-9+/=\\s]*)-----END \\1PRIVATE KEY-----");
    private static final List<String> KEY_ALGORITHMS = List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS");

    private PemFiles() {}

    /** The raw bytes of {@code file}, to tell whether it changed. */
    public static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot be read (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        }
    }

    /** The X.509 certificates of a PEM file, in order (a chain: leaf first); at least one. */
    public static X509Certificate[] certificates(Path file, byte[] content) {
        final List<? extends java.security.cert.Certificate> parsed;
        try {
            parsed = List.copyOf(CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(content)));
        } catch (CertificateException e) {
            throw new IllegalArgumentException(file + ": not a PEM certificate (" + e.getMessage() + ")");
        }
        if (parsed.isEmpty()) {
            throw new IllegalArgumentException(file + ": no certificate in it (expected: -----BEGIN CERTIFICATE-----)");
        }
        return parsed.stream().map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
    }

    /** The unencrypted PKCS#8 private key of a PEM file ({@code -----BEGIN PRIVATE KEY-----}). */
    public static PrivateKey privateKey(Path file, byte[] content) {
        final Matcher m = KEY_BLOCK.matcher(new String(content, StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new IllegalArgumentException(file + ": no private key in it (expected: -----BEGIN PRIVATE KEY-----)");
        }
        if (!m.group(1).isEmpty()) {
            // PKCS#1 and SEC1 keys need a parser the JDK lacks; encrypted ones a password.
            throw new IllegalArgumentException(file + ": a '" + m.group(1) + "PRIVATE KEY' (expected: an unencrypted"
                    + " PKCS#8 'PRIVATE KEY'; convert with: openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW)");
        }
        final byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": the private key is not valid base64");
        }
        for (String algorithm : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // Not this algorithm; try the next.
            }
        }
        throw new IllegalArgumentException(file + ": the private key is of no known algorithm (expected: RSA, EC or EdDSA)");
    }

    /**
     * Fails unless {@code key} is the private half of {@code certificate}'s public key, which a
     * TLS engine would otherwise find out only at the first handshake.
     */
    public static void checkPair(PrivateKey key, X509Certificate certificate, Path keyFile, Path certFile) {
        final String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return;
        }
        final byte[] probe = "cy-coordinator key check".getBytes(StandardCharsets.US_ASCII);
        boolean matches;
        try {
            final Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            final byte[] signature = signer.sign();
            final Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new IllegalArgumentException(keyFile + ": not the key of the certificate in " + certFile
                    + " (" + certificate.getSubjectX500Principal().getName() + ")");
        }
    }
}
