package io.cy.bench;

import io.cy.coordinator.transport.netty.Endpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The settings of one {@code call}, parsed from its flags. */
record CallArgs(
        Endpoint target,
        Method method,
        String model,
        String prompt,
        int maxNewTokens,
        double temperature,
        String token,
        String traceId,
        String command,
        Map<String, String> payload,
        long deadlineMs,
        Path tlsCa,
        Path tlsCert,
        Path tlsKey) {

    enum Method { STREAM, HEALTH, CONTROL }

    static final String DEFAULT_TARGET = "localhost:50050";

    private static final List<String> FLAGS = List.of("--target", "--method", "--model", "--prompt",
            "--max-new-tokens", "--temperature", "--token", "--trace-id", "--command", "--payload", "--deadline-ms", "--tls-ca", "--tls-cert",
            "--tls-key");

    static final String USAGE = String.join("\n",
            "usage: cy-bench call [options]",
            "",
            "Makes one AiInference call (to the coordinator or a sidecar) and prints the answer:",
            "chunks go to stdout as they arrive, the summary and errors to stderr.",
            "Exit status: 0 on success, 1 on a gRPC error, 2 on bad arguments.",
            "",
            "  --target ADDR          host:port, unix:///abs/path or /abs/path (default " + DEFAULT_TARGET + ")",
            "  --method M             stream, health or control (default stream)",
            "  --model ID             stream: model_id (default sim)",
            "  --prompt TEXT          stream: prompt (default Hello)",
            "  --max-new-tokens N     stream: generation.max_new_tokens (default 16)",
            "  --temperature X        stream: generation.temperature (default 0: the server's choice)",
            "  --token T              send 'authorization: Bearer T'",
            "  --trace-id ID          the request's trace_id (default: none, the server picks one)",
            "  --command CMD          control: command (default ping)",
            "  --payload K=V ...      control: payload entries; repeatable",
            "  --deadline-ms N        deadline for the call (default: none)",
            "  --tls-ca FILE          TLS (ALPN h2), trusting the CA bundle in FILE (PEM)",
            "  --tls-cert FILE        with --tls-ca: present this client certificate (PEM) ...",
            "  --tls-key FILE         ... and its PKCS#8 key (PEM), for mTLS",
            "  --help                 this text",
            "");

    CallArgs {
        payload = Map.copyOf(payload);
    }

    /** Parses the flags after {@code call}; both {@code --flag value} and {@code --flag=value} work. */
    static CallArgs parse(List<String> args) throws UsageException {
        Endpoint target = Endpoint.parse(DEFAULT_TARGET);
        Method method = Method.STREAM;
        String model = "sim";
        String prompt = "Hello";
        int maxNewTokens = 16;
        double temperature = 0;
        String token = null;
        String traceId = "";
        String command = "ping";
        final Map<String, String> payload = new LinkedHashMap<>();
        long deadlineMs = 0;
        Path tlsCa = null;
        Path tlsCert = null;
        Path tlsKey = null;

        for (int i = 0; i < args.size(); i++) {
            final String arg = args.get(i);
            if (!arg.startsWith("--")) {
                throw new UsageException("unexpected argument: " + arg);
            }
            final int eq = arg.indexOf('=');
            final String flag = eq > 0 ? arg.substring(0, eq) : arg;
            if (!FLAGS.contains(flag)) {
                throw new UsageException("unknown flag: " + flag);
            }
            final String value;
            if (eq > 0) {
                value = arg.substring(eq + 1);
            } else if (i + 1 < args.size() && !isKnownFlag(args.get(i + 1))) {
                value = args.get(++i);
            } else {
                throw new UsageException(flag + ": missing value");
            }
            switch (flag) {
                case "--target":
                    target = endpoint(value);
                    break;
                case "--method":
                    method = method(value);
                    break;
                case "--model":
                    model = value;
                    break;
                case "--prompt":
                    prompt = value;
                    break;
                case "--max-new-tokens":
                    maxNewTokens = (int) wholeNumber(flag, value, 0, Integer.MAX_VALUE);
                    break;
                case "--temperature":
                    temperature = temperature(value);
                    break;
                case "--token":
                    token = nonEmpty(flag, value);
                    break;
                case "--trace-id":
                    traceId = value;
                    break;
                case "--command":
                    command = nonEmpty(flag, value);
                    break;
                case "--payload":
                    putPayload(payload, value);
                    // "--payload a=1 b=2": the entries run until the next flag.
                    while (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                        putPayload(payload, args.get(++i));
                    }
                    break;
                case "--deadline-ms":
                    deadlineMs = wholeNumber(flag, value, 1, Long.MAX_VALUE);
                    break;
                case "--tls-ca":
                    tlsCa = readable(flag, value);
                    break;
                case "--tls-cert":
                    tlsCert = readable(flag, value);
                    break;
                case "--tls-key":
                    tlsKey = readable(flag, value);
                    break;
                default:
                    throw new IllegalStateException(flag);
            }
        }
        if ((tlsCert == null) != (tlsKey == null)) {
            throw new UsageException((tlsCert == null ? "--tls-key" : "--tls-cert") + ": given without "
                    + (tlsCert == null ? "--tls-cert" : "--tls-key") + " (expected: both, for a client certificate)");
        }
        if (tlsCert != null && tlsCa == null) {
            throw new UsageException("--tls-cert: given without --tls-ca (expected: --tls-ca FILE for TLS)");
        }
        return new CallArgs(target, method, model, prompt, maxNewTokens, temperature, token, traceId,
                command, payload, deadlineMs, tlsCa, tlsCert, tlsKey);
    }

    private static Path readable(String flag, String value) throws UsageException {
        final Path path = Path.of(value);
        if (!Files.isReadable(path)) {
            throw new UsageException(flag + ": " + value + ": not a readable file");
        }
        return path;
    }

    // A value may itself start with "--" (a prompt, say): only a known flag means the value is missing.
    private static boolean isKnownFlag(String arg) {
        final int eq = arg.indexOf('=');
        return FLAGS.contains(eq > 0 ? arg.substring(0, eq) : arg);
    }

    private static Endpoint endpoint(String value) throws UsageException {
        try {
            return Endpoint.parse(value);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--target: " + e.getMessage());
        }
    }

    private static Method method(String value) throws UsageException {
        switch (value) {
            case "stream":
                return Method.STREAM;
            case "health":
                return Method.HEALTH;
            case "control":
                return Method.CONTROL;
            default:
                throw new UsageException("--method: " + value + " (expected: stream, health or control)");
        }
    }

    private static long wholeNumber(String flag, String value, long min, long max) throws UsageException {
        final long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + ": " + value + " (expected: a whole number)");
        }
        if (n < min || n > max) {
            throw new UsageException(flag + ": " + value + " (expected: a whole number in [" + min + ", " + max + "])");
        }
        return n;
    }

    private static double temperature(String value) throws UsageException {
        final double x;
        try {
            x = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UsageException("--temperature: " + value + " (expected: a number)");
        }
        if (!(x >= 0) || Double.isInfinite(x)) {
            throw new UsageException("--temperature: " + value + " (expected: a finite number >= 0)");
        }
        return x;
    }

    private static String nonEmpty(String flag, String value) throws UsageException {
        if (value.isEmpty()) {
            throw new UsageException(flag + ": empty (expected: a value)");
        }
        return value;
    }

    private static void putPayload(Map<String, String> payload, String entry) throws UsageException {
        final int eq = entry.indexOf('=');
        if (eq <= 0) {
            throw new UsageException("--payload: " + entry + " (expected: key=value)");
        }
        payload.put(entry.substring(0, eq), entry.substring(eq + 1));
    }
}
