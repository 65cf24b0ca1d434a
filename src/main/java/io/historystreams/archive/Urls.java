package io.historystreams.archive;

import java.net.URI;

/**
 * The parts of an http(s) URL's authority, also when {@link URI} does not parse it as a server: a host name with an
 * underscore ({@code http://history_archive:8080/}, a Docker Compose service name) or a password with a raw
 * {@code @} leave {@link URI#getHost()} null and the authority "registry-based". The user info then runs up to the
 * last {@code @} (as curl reads it), the port is what follows the host's last {@code :}.
 */
public final class Urls {
    private Urls() {
    }

    /** The host ({@code [..]} kept for IPv6 literals, as {@link URI#getHost()} gives them), or null when none. */
    public static String host(final URI u) {
        if (u.getHost() != null) {
            return u.getHost().isEmpty() ? null : u.getHost();
        }
        final String hostPort = hostPort(u);
        if (hostPort == null) {
            return null;
        }
        final String host;
        if (hostPort.startsWith("[")) {
            final int end = hostPort.indexOf(']');
            host = end < 0 ? "" : hostPort.substring(0, end + 1);
        } else {
            final int colon = hostPort.lastIndexOf(':');
            host = colon < 0 ? hostPort : hostPort.substring(0, colon);
        }
        return host.isEmpty() || !host.chars().allMatch(c -> c > ' ' && c != '/' && c != '\\' && c != '@'
                && c != '%' && c < 0x7f) ? null : host;
    }

    /**
     * The port, or -1 when none is given.
     *
     * @throws IllegalArgumentException a port that is not a number from 0 to 65535
     */
    public static int port(final URI u) {
        if (u.getHost() != null) {
            return u.getPort();
        }
        final String hostPort = hostPort(u);
        if (hostPort == null) {
            return -1;
        }
        final int colon = hostPort.lastIndexOf(':');
        if (colon < 0 || colon < hostPort.lastIndexOf(']')) {
            return -1;
        }
        final String p = hostPort.substring(colon + 1);
        if (p.isEmpty()) {
            return -1;
        }
        if (p.length() > 5 || !p.chars().allMatch(c -> c >= '0' && c <= '9') || Integer.parseInt(p) > 65535) {
            throw new IllegalArgumentException("not a port number: " + ArchivePaths.quote(p));
        }
        return Integer.parseInt(p);
    }

    /** The raw (percent-encoded) user info, or null when none. */
    public static String rawUserInfo(final URI u) {
        if (u.getHost() != null) {
            return u.getRawUserInfo();
        }
        final String a = u.getRawAuthority();
        final int at = a == null ? -1 : a.lastIndexOf('@');
        return at < 0 ? null : a.substring(0, at);
    }

    /** {@code host[:port]} of {@code u}, IPv6 literals in brackets; for a URL without credentials. */
    public static String hostAndPort(final URI u) {
        final String host = host(u);
        final String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        final int port = port(u);
        return port >= 0 ? h + ":" + port : h;
    }

    /**
     * Refuses a base URL ({@code scheme://host[:port]/path}, no credentials) that {@code java.net.http} cannot send
     * requests to: it takes a server-based authority only, and refuses a host name that is not a valid DNS name (an
     * underscore) as "unsupported URI" at each request.
     *
     * @throws IllegalArgumentException saying so
     */
    public static void requireJavaHttpHost(final String base) {
        final URI u = URI.create(base);
        if (u.getHost() == null) {
            throw new IllegalArgumentException("Java's HTTP client cannot reach a host name that is not a valid DNS "
                    + "name (" + host(u) + ": an underscore?): give its address or another name");
        }
    }

    private static String hostPort(final URI u) {
        final String a = u.getRawAuthority();
        if (a == null) {
            return null;
        }
        return a.substring(a.lastIndexOf('@') + 1);
    }
}
