package io.cy.coordinator.transport.netty;

import static java.util.Objects.requireNonNull;

/** A TLS file that cannot serve, with the setting that names it: {@code server.tls.key_file: /x: no such file}. */
public final class TlsFileException extends IllegalArgumentException {

    private final String setting;
    private final String problem;

    public TlsFileException(String setting, String problem) {
        super(setting + ": " + problem);
        this.setting = requireNonNull(setting, "setting");
        this.problem = requireNonNull(problem, "problem");
    }

    /** The setting's path, e.g. {@code server.tls.cert_file}. */
    public String setting() {
        return setting;
    }

    /** What is wrong, without the setting's name. */
    public String problem() {
        return problem;
    }
}
