package io.historystreams.service;

/**
 * A JVM with nothing but the health endpoint, for a test of what the JDK's HTTP server reads once per JVM (its
 * request time limit, which {@link HealthServer} sets before the first server): prints the endpoint's URL, then runs
 * until its standard input closes.
 */
public final class HealthServerMain {
    private HealthServerMain() {
    }

    public static void main(final String[] args) throws Exception {
        try (HealthServer h = HealthServer.start("127.0.0.1", 0, () -> true, () -> true, () -> "", () -> "RUNNING")) {
            System.out.println(h.url());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the test closes the pipe
            }
        }
    }
}
