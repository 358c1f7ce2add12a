package io.cy.sim;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.transport.netty.Endpoint;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How a {@link SimulatedSidecar} listens and behaves. Immutable; made with {@link #builder()}.
 *
 * <p>Failure and stall settings apply to every call; a request can override them (and the
 * delays) through {@code metadata.extra}, see {@link CallPlan}.
 */
public final class SimConfig {

    private final Endpoint listen;
    private final Duration timeToFirstToken;
    private final Duration tokenGap;
    private final List<String> models;
    private final List<String> adapters;
    private final String internalToken;
    private final Status.Code failStatus;
    private final int failAfter;
    private final int stallAfter;
    private final boolean refuseConnections;
    private final int maxPromptBytes;
    private final int defaultMaxNewTokens;
    private final int threads;
    private final int chunkBytes;
    private final Path tlsCert;
    private final Path tlsKey;

    private SimConfig(Builder b, Endpoint listen) {
        this.tlsCert = b.tlsCert;
        this.tlsKey = b.tlsKey;
        this.listen = listen;
        this.timeToFirstToken = b.timeToFirstToken;
        this.tokenGap = b.tokenGap;
        this.models = b.models;
        this.adapters = b.adapters;
        this.internalToken = b.internalToken;
        this.failStatus = b.failStatus;
        this.failAfter = b.failAfter;
        this.stallAfter = b.stallAfter;
        this.refuseConnections = b.refuseConnections;
        this.maxPromptBytes = b.maxPromptBytes;
        this.defaultMaxNewTokens = b.defaultMaxNewTokens;
        this.threads = b.threads;
        this.chunkBytes = b.chunkBytes;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings, to derive a variant. */
    public Builder toBuilder() {
        return new Builder()
                .listen(listen.toString())
                .timeToFirstToken(timeToFirstToken)
                .tokenGap(tokenGap)
                .models(models)
                .adapters(adapters)
                .internalToken(internalToken)
                .failStatus(failStatus)
                .failAfter(failAfter)
                .stallAfter(stallAfter)
                .refuseConnections(refuseConnections)
                .maxPromptBytes(maxPromptBytes)
                .defaultMaxNewTokens(defaultMaxNewTokens)
                .threads(threads)
                .chunkBytes(chunkBytes)
                .tls(tlsCert, tlsKey);
    }

    /** The certificate (PEM chain) served over TLS on a TCP listener; null for plaintext. */
    public Path tlsCert() {
        return tlsCert;
    }

    /** The key of {@link #tlsCert()} (PKCS#8 PEM); null for plaintext. */
    public Path tlsKey() {
        return tlsKey;
    }

    /** Where to listen; a TCP port 0 means an ephemeral port. */
    public Endpoint listen() {
        return listen;
    }

    public Duration timeToFirstToken() {
        return timeToFirstToken;
    }

    public Duration tokenGap() {
        return tokenGap;
    }

    /** The served model ids; empty means any model id is accepted. */
    public List<String> models() {
        return models;
    }

    /** The LoRA adapters it says it has loaded, in its {@code list_models} answer; empty: none said. */
    public List<String> adapters() {
        return adapters;
    }

    /** The token callers must present as {@code authorization: Bearer <token>}; null means no auth. */
    public String internalToken() {
        return internalToken;
    }

    /** The status every call fails with after {@link #failAfter()} chunks; null means no failure. */
    public Status.Code failStatus() {
        return failStatus;
    }

    public int failAfter() {
        return failAfter;
    }

    /** After this many chunks a call goes silent until cancelled; -1 means never. */
    public int stallAfter() {
        return stallAfter;
    }

    public boolean refuseConnections() {
        return refuseConnections;
    }

    public int maxPromptBytes() {
        return maxPromptBytes;
    }

    public int defaultMaxNewTokens() {
        return defaultMaxNewTokens;
    }

    public int threads() {
        return threads;
    }

    /** Pads (or cuts) every chunk to exactly this many characters; 0 means natural words. */
    public int chunkBytes() {
        return chunkBytes;
    }

    @Override
    public String toString() {
        // Never the token itself: this string ends up in logs.
        return "SimConfig{listen=" + listen
                + ", timeToFirstToken=" + timeToFirstToken
                + ", tokenGap=" + tokenGap
                + ", models=" + models
                + ", adapters=" + adapters
                + ", internalToken=" + (internalToken == null ? "none" : "<set>")
                + ", failStatus=" + failStatus
                + ", failAfter=" + failAfter
                + ", stallAfter=" + stallAfter
                + ", refuseConnections=" + refuseConnections
                + ", maxPromptBytes=" + maxPromptBytes
                + ", defaultMaxNewTokens=" + defaultMaxNewTokens
                + ", threads=" + threads
                + ", chunkBytes=" + chunkBytes
                + ", tlsCert=" + tlsCert
                + '}';
    }

    public static final class Builder {

        private String listen = "127.0.0.1:0";
        private Duration timeToFirstToken = Duration.ZERO;
        private Duration tokenGap = Duration.ZERO;
        private List<String> models = List.of();
        private List<String> adapters = List.of();
        private String internalToken;
        private Status.Code failStatus;
        private int failAfter;
        private int stallAfter = -1;
        private boolean refuseConnections;
        private int maxPromptBytes = 1 << 20;
        private int defaultMaxNewTokens = 16;
        private int threads = 2;
        private Path tlsCert;
        private Path tlsKey;
        private int chunkBytes;

        private Builder() {
        }

        /** {@code unix:///abs/path} or {@code host:port}; default {@code 127.0.0.1:0}. */
        public Builder listen(String endpoint) {
            this.listen = requireNonNull(endpoint, "endpoint");
            return this;
        }

        public Builder timeToFirstToken(Duration timeToFirstToken) {
            this.timeToFirstToken = requireNonNull(timeToFirstToken, "timeToFirstToken");
            return this;
        }

        public Builder tokenGap(Duration tokenGap) {
            this.tokenGap = requireNonNull(tokenGap, "tokenGap");
            return this;
        }

        public Builder models(List<String> models) {
            // List.copyOf rejects null elements with a NullPointerException, as it should.
            this.models = List.copyOf(requireNonNull(models, "models"));
            return this;
        }

        public Builder adapters(List<String> adapters) {
            this.adapters = List.copyOf(requireNonNull(adapters, "adapters"));
            return this;
        }

        /** Null (the default) disables auth. */
        public Builder internalToken(String internalToken) {
            this.internalToken = internalToken;
            return this;
        }

        /** Null (the default) disables the simulated failure. */
        public Builder failStatus(Status.Code failStatus) {
            this.failStatus = failStatus;
            return this;
        }

        public Builder failAfter(int failAfter) {
            this.failAfter = failAfter;
            return this;
        }

        public Builder stallAfter(int stallAfter) {
            this.stallAfter = stallAfter;
            return this;
        }

        public Builder refuseConnections(boolean refuseConnections) {
            this.refuseConnections = refuseConnections;
            return this;
        }

        public Builder maxPromptBytes(int maxPromptBytes) {
            this.maxPromptBytes = maxPromptBytes;
            return this;
        }

        public Builder defaultMaxNewTokens(int defaultMaxNewTokens) {
            this.defaultMaxNewTokens = defaultMaxNewTokens;
            return this;
        }

        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public Builder chunkBytes(int chunkBytes) {
            this.chunkBytes = chunkBytes;
            return this;
        }

        /** Serves TLS (ALPN h2) with this certificate and key; both null for plaintext. */
        public Builder tls(Path cert, Path key) {
            this.tlsCert = cert;
            this.tlsKey = key;
            return this;
        }

        public Builder tlsCert(Path cert) {
            this.tlsCert = cert;
            return this;
        }

        public Builder tlsKey(Path key) {
            this.tlsKey = key;
            return this;
        }

        /** Validates and builds; an exception message names the offending setting. */
        public SimConfig build() {
            final Endpoint endpoint;
            try {
                endpoint = Endpoint.parse(listen);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("listen: " + e.getMessage(), e);
            }
            if ((tlsCert == null) != (tlsKey == null)) {
                throw new IllegalArgumentException("tls: " + (tlsCert == null ? "a key without a certificate"
                        : "a certificate without a key") + " (expected: both, or neither for plaintext)");
            }
            if (tlsCert != null && endpoint.isUnix()) {
                throw new IllegalArgumentException("tls: on " + listen + " (expected: a TCP listener; Unix sockets stay plaintext)");
            }
            requireNonNegative("timeToFirstToken", timeToFirstToken);
            requireNonNegative("tokenGap", tokenGap);
            for (String model : models) {
                if (model.isBlank()) {
                    throw new IllegalArgumentException("models: " + models + " (expected: non-blank model ids)");
                }
            }
            for (String adapter : adapters) {
                if (adapter.isBlank()) {
                    throw new IllegalArgumentException("adapters: " + adapters + " (expected: non-blank adapter names)");
                }
            }
            if (internalToken != null && internalToken.isEmpty()) {
                throw new IllegalArgumentException(
                        "internalToken: empty (expected: a non-empty token, or null for no auth)");
            }
            if (failStatus == Status.Code.OK) {
                throw new IllegalArgumentException("failStatus: OK (expected: a non-OK code, or null)");
            }
            if (failAfter < 0) {
                throw new IllegalArgumentException("failAfter: " + failAfter + " (expected: >= 0)");
            }
            if (failAfter > 0 && failStatus == null) {
                throw new IllegalArgumentException("failAfter: " + failAfter + " (expected: 0 unless failStatus is set)");
            }
            if (stallAfter < -1) {
                throw new IllegalArgumentException("stallAfter: " + stallAfter + " (expected: >= 0, or -1 for never)");
            }
            if (maxPromptBytes < 1) {
                throw new IllegalArgumentException("maxPromptBytes: " + maxPromptBytes + " (expected: > 0)");
            }
            if (defaultMaxNewTokens < 1) {
                throw new IllegalArgumentException("defaultMaxNewTokens: " + defaultMaxNewTokens + " (expected: > 0)");
            }
            if (threads < 1) {
                throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
            }
            if (chunkBytes < 0) {
                throw new IllegalArgumentException("chunkBytes: " + chunkBytes + " (expected: >= 0)");
            }
            return new SimConfig(this, endpoint);
        }

        private static void requireNonNegative(String name, Duration d) {
            if (d.isNegative()) {
                throw new IllegalArgumentException(name + ": " + d + " (expected: >= 0)");
            }
        }
    }
}
