package io.cy.bridge;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for tests that need the exact bytes, several requests on one
 * connection, or a client that stops reading or hangs up.
 */
final class RawHttp implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    RawHttp(int port) throws IOException {
        this(port, 0);
    }

    /** @param receiveBufferBytes the socket's receive buffer, small for a client that reads slowly; 0 for the default */
    RawHttp(int port, int receiveBufferBytes) throws IOException {
        socket = new Socket();
        if (receiveBufferBytes > 0) {
            socket.setReceiveBufferSize(receiveBufferBytes); // before connecting, so the window is small from the start
        }
        socket.setSoTimeout((int) BridgeFixture.TIMEOUT.toMillis());
        socket.connect(new InetSocketAddress("127.0.0.1", port));
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** A request with a JSON body; {@code extraHeaders} are full lines without CRLF. */
    static String post(String path, String json, String... extraHeaders) {
        final byte[] body = json.getBytes(UTF_8);
        final StringBuilder sb = new StringBuilder()
                .append("POST ").append(path).append(" HTTP/1.1\r\n")
                .append("Host: localhost\r\n")
                .append("Content-Type: application/json\r\n")
                .append("Content-Length: ").append(body.length).append("\r\n");
        for (String h : extraHeaders) {
            sb.append(h).append("\r\n");
        }
        return sb.append("\r\n").append(new String(body, ISO_8859_1)).toString();
    }

    RawHttp send(String request) throws IOException {
        return send(request.getBytes(ISO_8859_1));
    }

    RawHttp send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Reads one whole response: head, then the body by Content-Length or chunked encoding. */
    Response readResponse() throws IOException {
        final Head head = readHead();
        final byte[] body;
        if ("chunked".equalsIgnoreCase(head.headers().get("transfer-encoding"))) {
            body = body(head).readAllBytes();
        } else {
            final int length = Integer.parseInt(head.headers().getOrDefault("content-length", "0"));
            body = in.readNBytes(length);
            if (body.length < length) {
                throw new EOFException("body cut at " + body.length + " of " + length + " bytes");
            }
        }
        return new Response(head.status(), head.headers(), new String(body, UTF_8));
    }

    Head readHead() throws IOException {
        final String statusLine = line();
        final int status = Integer.parseInt(statusLine.split(" ")[1]);
        final Map<String, String> headers = new LinkedHashMap<>();
        String line;
        while (!(line = line()).isEmpty()) {
            final int colon = line.indexOf(':');
            headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return new Head(status, headers);
    }

    /** A streamed completion read to its end: the chunks with content, and the last {@code data:} line. */
    record Completion(int contents, String last) {}

    /** Reads the event stream of a response whose head was just read, to its end. */
    Completion readCompletion(Head head) throws IOException {
        final BufferedReader events = new BufferedReader(new InputStreamReader(body(head), UTF_8));
        int contents = 0;
        String last = null;
        for (String line = events.readLine(); line != null; line = events.readLine()) {
            if (line.startsWith("data: ")) {
                last = line;
                if (line.contains("\"delta\":{\"content\":\"")) {
                    contents++;
                }
            }
        }
        return new Completion(contents, last);
    }

    /** The decoded body of a chunked response whose head was just read, as it arrives. */
    InputStream body(Head head) {
        return new InputStream() {
            private int left;
            private boolean end;

            @Override
            public int read() throws IOException {
                final byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (end) {
                    return -1;
                }
                if (left == 0) {
                    final String size = line();
                    left = Integer.parseInt(size.split(";")[0].trim(), 16);
                    if (left == 0) {
                        while (!line().isEmpty()) {
                            // trailers
                        }
                        end = true;
                        return -1;
                    }
                }
                final int n = in.read(b, off, Math.min(len, left));
                if (n < 0) {
                    throw new EOFException("chunk cut short");
                }
                left -= n;
                if (left == 0) {
                    final String crlf = line();
                    if (!crlf.isEmpty()) {
                        throw new IOException("expected CRLF after a chunk, got: " + crlf);
                    }
                }
                return n;
            }
        };
    }

    /** Whether the server closed the connection: the next read sees the end of the stream. */
    boolean closedByServer() throws IOException {
        return in.read() < 0;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private String line() throws IOException {
        final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                final byte[] bytes = buf.toByteArray();
                final int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, len, UTF_8);
            }
            buf.write(c);
        }
        throw new EOFException("connection closed mid-line: " + buf.toString(UTF_8));
    }

    record Head(int status, Map<String, String> headers) {}

    record Response(int status, Map<String, String> headers, String body) {}
}
