package io.historystreams.publish;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A private nginx WebDAV server on loopback, started and stopped through {@code .ci/nginx-dav.sh} (which installs
 * nginx when it is missing). Failing to start it fails the test: it is never skipped.
 */
final class NginxDav implements AutoCloseable {
    private static final Path SCRIPT = Path.of(".ci", "nginx-dav.sh").toAbsolutePath();

    final int port;
    final Path root;

    private NginxDav(final int port, final Path root) {
        this.port = port;
        this.root = root;
    }

    static NginxDav start(final Path root) throws Exception {
        if (!Files.isRegularFile(SCRIPT)) {
            fail("nginx WebDAV test server script not found at " + SCRIPT + " (run the tests from the project root)");
        }
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            final int port = freePort();
            final String out;
            final int code;
            try {
                final Process p = new ProcessBuilder("bash", SCRIPT.toString(), "start", Integer.toString(port),
                        root.toString()).redirectErrorStream(true).start();
                p.getOutputStream().close();
                // installing nginx with apt may take a while on a fresh machine
                if (!p.waitFor(10, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    fail("nginx-dav.sh start did not finish within 10 minutes");
                }
                out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                code = p.exitValue();
            } catch (IOException e) {
                last = e;
                continue;
            }
            if (code == 0) {
                return new NginxDav(port, root);
            }
            if (!out.contains("Address already in use")) {
                fail("could not start the nginx WebDAV test server (these tests need nginx with the DAV module; "
                        + SCRIPT + " installs it with apt-get when missing): exit " + code + "\n" + out);
            }
        }
        fail("could not start the nginx WebDAV test server: " + last);
        throw new AssertionError();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + port + "/");
    }

    @Override
    public void close() throws Exception {
        final Process p = new ProcessBuilder("bash", SCRIPT.toString(), "stop", Integer.toString(port))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
