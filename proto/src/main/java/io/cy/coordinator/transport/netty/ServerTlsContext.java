package io.cy.coordinator.transport.netty;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS side of one listener: the server's {@link SslContext}, rebuilt when its certificate,
 * key or client CA files change on disk. A thread of its own reads the files on an interval
 * (never an event loop: file reads block) and compares their bytes with those in use, which also
 * catches a Kubernetes secret's symlink swap; new connections get the new context, open ones keep
 * theirs. A new set that does not load (a key that is not the certificate's, a half-written
 * file) is logged once and the one in use kept.
 *
 * <p>TLS 1.2 and 1.3 only. ALPN offers {@code protocols}; a client that offers none of them
 * still completes the handshake (grpc-java's server does the same, NO_ADVERTISE), and the
 * listener refuses it then, with a reason it can log.
 */
public final class ServerTlsContext implements AutoCloseable {

    /** A gRPC listener: HTTP/2 only. */
    public static final List<String> GRPC = List.of(ApplicationProtocolNames.HTTP_2);
    /** The HTTP bridge: HTTP/1.1. */
    public static final List<String> HTTP_1_1 = List.of(ApplicationProtocolNames.HTTP_1_1);
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private static final Logger logger = LoggerFactory.getLogger(ServerTlsContext.class);

    private final ServerTls settings;
    private final List<String> alpn;
    private final SslProvider provider;
    private final AtomicReference<Loaded> current;
    private final ScheduledExecutorService checker;
    // Only the checker thread (or a test calling reloadIfChanged) touches it.
    private Files rejected;

    private record Files(byte[] cert, byte[] key, byte[] ca) {
        boolean sameAs(Files other) {
            return other != null && Arrays.equals(cert, other.cert) && Arrays.equals(key, other.key)
                    && Arrays.equals(ca, other.ca);
        }
    }

    private record Loaded(Files files, SslContext context, X509Certificate certificate) {}

    private ServerTlsContext(ServerTls settings, List<String> alpn, SslProvider provider, Loaded first,
                             Duration checkInterval) {
        this.settings = settings;
        this.alpn = alpn;
        this.provider = provider;
        this.current = new AtomicReference<>(first);
        if (checkInterval == null) {
            checker = null;
            return;
        }
        checker = Executors.newSingleThreadScheduledExecutor(r -> {
            final Thread t = new Thread(r, "cy-tls-reload-" + settings.name());
            t.setDaemon(true);
            return t;
        });
        checker.scheduleWithFixedDelay(() -> {
            try {
                reloadIfChanged();
            } catch (RuntimeException e) {
                logger.warn("{}: checking the files for changes failed", settings.name(), e);
            }
        }, checkInterval.toNanos(), checkInterval.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Loads the files and, with {@code checkInterval} not null, starts looking for changes.
     *
     * @throws TlsFileException naming the setting of the file that cannot serve
     */
    public static ServerTlsContext start(ServerTls settings, List<String> alpn, Duration checkInterval) {
        requireNonNull(settings, "settings");
        final SslProvider provider;
        try {
            provider = settings.provider().resolve();
        } catch (IllegalArgumentException e) {
            throw new TlsFileException(settings.name() + ".provider", e.getMessage());
        }
        final List<String> protocols = List.copyOf(alpn);
        return new ServerTlsContext(settings, protocols, provider, load(settings, protocols, provider, read(settings)),
                checkInterval);
    }

    /**
     * Checks that the files of {@code settings} load, as {@link #start} would, without keeping them.
     *
     * @throws TlsFileException naming the setting of the file that cannot serve
     */
    public static void check(ServerTls settings, List<String> alpn) {
        start(settings, alpn, null).close();
    }

    /** A handler for a new connection, with the context in use now. */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        return current.get().context().newHandler(alloc);
    }

    /** The certificate served to new connections. */
    public X509Certificate certificate() {
        return current.get().certificate();
    }

    /** {@code openssl} or {@code jdk}: what the handshakes run on. */
    public String provider() {
        return provider == SslProvider.JDK ? "jdk" : "openssl";
    }

    /**
     * Reads the files and, when they differ from those in use and from the last set found bad,
     * loads them for new connections. Blocks on file reads: never call it on an event loop.
     *
     * @return whether new connections now get a new context
     */
    public synchronized boolean reloadIfChanged() {
        final Files files;
        try {
            files = read(settings);
        } catch (TlsFileException e) {
            // Between the removal and the creation of a file being replaced; the next check sees it.
            logger.debug("{}: not reloaded: {}", settings.name(), e.getMessage());
            return false;
        }
        if (files.sameAs(current.get().files()) || files.sameAs(rejected)) {
            return false;
        }
        final Loaded loaded;
        try {
            loaded = load(settings, alpn, provider, files);
        } catch (TlsFileException e) {
            rejected = files;
            logger.warn("{}: the changed files do not load, keeping certificate {} for new connections: {}",
                    settings.name(), describe(current.get().certificate()), e.getMessage());
            return false;
        }
        rejected = null;
        current.set(loaded);
        logger.info("{}: reloaded; new connections get certificate {}", settings.name(), describe(loaded.certificate()));
        return true;
    }

    @Override
    public void close() {
        if (checker != null) {
            checker.shutdownNow();
        }
    }

    /** Subject, serial and expiry: what an operator checks after replacing a certificate. */
    public static String describe(X509Certificate certificate) {
        return "'" + certificate.getSubjectX500Principal().getName() + "' (serial "
                + certificate.getSerialNumber().toString(16) + ", valid until " + certificate.getNotAfter().toInstant() + ")";
    }

    private static Files read(ServerTls settings) {
        return new Files(read(settings.certFile(), settings.name() + ".cert_file"),
                read(settings.keyFile(), settings.name() + ".key_file"),
                settings.clientCaFile() == null ? null
                        : read(settings.clientCaFile(), settings.name() + ".client_ca_file"));
    }

    private static byte[] read(Path file, String setting) {
        try {
            return PemFiles.read(file);
        } catch (IllegalArgumentException e) {
            throw new TlsFileException(setting, e.getMessage());
        }
    }

    private static Loaded load(ServerTls settings, List<String> alpn, SslProvider provider, Files files) {
        final String name = settings.name();
        final X509Certificate[] chain = parse(name + ".cert_file",
                () -> PemFiles.certificates(settings.certFile(), files.cert()));
        final PrivateKey key = parse(name + ".key_file", () -> PemFiles.privateKey(settings.keyFile(), files.key()));
        parse(name + ".key_file", () -> {
            PemFiles.checkPair(key, chain[0], settings.keyFile(), settings.certFile());
            return null;
        });
        final SslContextBuilder builder = SslContextBuilder.forServer(key, chain)
                .sslProvider(provider)
                .protocols(PROTOCOLS)
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
        if (alpn.contains(ApplicationProtocolNames.HTTP_2)) {
            // RFC 7540 9.2.2: HTTP/2 forbids the weaker suites TLS 1.2 would otherwise allow.
            builder.ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE);
        }
        if (files.ca() != null) {
            final X509Certificate[] cas = parse(name + ".client_ca_file",
                    () -> PemFiles.certificates(settings.clientCaFile(), files.ca()));
            builder.trustManager(cas).clientAuth(settings.clientAuth() == ServerTls.ClientAuth.REQUIRE
                    ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
        }
        try {
            return new Loaded(files, builder.build(), chain[0]);
        } catch (SSLException | RuntimeException e) {
            throw new TlsFileException(name + ".cert_file", settings.certFile() + " with " + settings.keyFile()
                    + ": rejected by the TLS provider (" + e.getMessage() + ")");
        }
    }

    private static <T> T parse(String setting, java.util.function.Supplier<T> parser) {
        try {
            return parser.get();
        } catch (TlsFileException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new TlsFileException(setting, e.getMessage());
        }
    }
}
