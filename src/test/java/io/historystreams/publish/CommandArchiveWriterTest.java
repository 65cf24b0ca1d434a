package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import io.historystreams.archive.RetryPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CommandArchiveWriterTest {
    private static final String HAS_3F = ArchivePaths.has(0x3f);
    private static final RetryPolicy FAST = new RetryPolicy(4, Duration.ofMillis(1), Duration.ofMillis(5),
            Duration.ofMillis(5));

    @TempDir
    Path tmp;

    private CommandArchiveWriter.Templates cp(final Path root, final boolean rename) {
        final String r = CommandArchiveWriter.shellQuote(root.toString());
        return new CommandArchiveWriter.Templates("cp {0} " + r + "/{1}", "mkdir -p " + r + "/{0}",
                "cp " + r + "/{0} {1}", "test -f " + r + "/{0}", rename ? "mv " + r + "/{0} " + r + "/{1}" : null);
    }

    @Test
    void publishesFixtureCheckpointsWithCpAndRename() throws Exception {
        final FixtureSet set = new FixtureSet();
        final Path target = Files.createDirectories(tmp.resolve("target"));
        try (CommandArchiveWriter w = new CommandArchiveWriter(cp(target, true))) {
            assertTrue(w.name().matches("cmd:cp#[0-9a-f]{8}"), w.name());
            assertTrue(w.readRootState().isEmpty());
            assertFalse(w.exists(HAS_3F));
            set.publish(w);
            assertTrue(w.exists(HAS_3F));
            assertArrayEquals(set.rootState(), w.readRootState().orElseThrow());
        }
        set.assertPublished(target);
    }

    @Test
    void publishesDirectlyWithoutRenameAndReadsWithGetOnly() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("target"));
        final var full = cp(target, false);
        final var getOnly = new CommandArchiveWriter.Templates(full.put(), full.mkdir(), full.get(), null, null);
        try (CommandArchiveWriter w = new CommandArchiveWriter(getOnly)) {
            assertTrue(w.readRootState().isEmpty(), "failing get without an exists template reads as absent");
            assertFalse(w.exists(HAS_3F));
            w.put(HAS_3F, Files.writeString(tmp.resolve("f"), "content"));
            w.putRootState("{}".getBytes(StandardCharsets.UTF_8));
            assertTrue(w.exists(HAS_3F));
            assertEquals("{}", new String(w.readRootState().orElseThrow(), StandardCharsets.UTF_8));
        }
        assertEquals("content", Files.readString(target.resolve(HAS_3F)));
        final var putOnly = new CommandArchiveWriter.Templates(full.put(), full.mkdir(), null, null, null);
        try (CommandArchiveWriter w = new CommandArchiveWriter(putOnly)) {
            assertFalse(w.exists(HAS_3F), "without get or exists everything is uploaded again");
            final PublishException e = assertThrows(PublishException.class, w::readRootState);
            assertFalse(e.retryable());
        }
    }

    @Test
    void failingCommandsAreRetriedUntilTheyWork() throws Exception {
        final FixtureSet set = new FixtureSet();
        final Path target = Files.createDirectories(tmp.resolve("target"));
        final Path counter = tmp.resolve("count");
        // fails its first 3 invocations, then copies
        final Path flaky = Files.writeString(tmp.resolve("flaky-cp.sh"), """
                #!/bin/sh
                n=$(cat "$COUNTER" 2>/dev/null || echo 0)
                n=$((n + 1))
                echo "$n" > "$COUNTER"
                if [ "$n" -le 3 ]; then echo "flaky-cp: simulated failure $n" >&2; exit 75; fi
                exec cp "$@"
                """.replace("$COUNTER", counter.toString()));
        Files.setPosixFilePermissions(flaky, PosixFilePermissions.fromString("rwxr-xr-x"));
        final String r = CommandArchiveWriter.shellQuote(target.toString());
        final var templates = new CommandArchiveWriter.Templates(
                CommandArchiveWriter.shellQuote(flaky.toString()) + " {0} " + r + "/{1}",
                "mkdir -p " + r + "/{0}", null, null, null);

        // without retries the first failure surfaces, naming the target (not its template), the exit code and stderr
        final CommandArchiveWriter bare = new CommandArchiveWriter(templates);
        final PublishException e = assertThrows(PublishException.class,
                () -> bare.put(set.paths.get(0), set.source.resolve(set.paths.get(0))));
        assertTrue(e.retryable());
        assertTrue(e.getMessage().contains("exit code 75"), e.getMessage());
        assertTrue(e.getMessage().contains("flaky-cp: simulated failure 1"), e.getMessage());
        assertTrue(e.getMessage().contains(bare.name()) && e.getMessage().contains(set.paths.get(0)), e.getMessage());
        // the root state's put too (it was "cannot stage", taken as one retrying cannot fix, and the target given up)
        final PublishException root = assertThrows(PublishException.class, () -> bare.putRootState(set.rootState()));
        assertTrue(root.retryable(), root.getMessage());
        assertTrue(root.getMessage().contains("exit code 75"), root.getMessage());

        try (ArchiveWriter w = new RetryingArchiveWriter(bare, FAST)) {
            for (final String p : set.paths) {
                w.put(p, set.source.resolve(p));
            }
            w.putRootState(set.rootState());
        }
        set.assertPublished(target);
        assertEquals(set.paths.size() + 1 + 3, Integer.parseInt(Files.readString(counter).trim()));

        // bounded: a command that always fails gives up after maxAttempts
        final Path calls = tmp.resolve("calls");
        final var broken = new CommandArchiveWriter.Templates("echo x >> " + CommandArchiveWriter.shellQuote(
                calls.toString()) + "; false {0} {1}", null, null, null, null);
        final PublishException gaveUp = assertThrows(PublishException.class,
                () -> new RetryingArchiveWriter(new CommandArchiveWriter(broken), FAST)
                        .put(HAS_3F, set.source.resolve(HAS_3F)));
        assertTrue(gaveUp.getMessage().contains("after 4 attempts"), gaveUp.getMessage());
        assertEquals(4, Files.readAllLines(calls).size());
    }

    @Test
    void hostilePathIsRefusedBeforeAnyShellRuns() throws Exception {
        final Path marker = tmp.resolve("pwned");
        final Path log = tmp.resolve("invocations");
        final String l = CommandArchiveWriter.shellQuote(log.toString());
        final var templates = new CommandArchiveWriter.Templates("echo put >> " + l + "; cp {0} /nonexistent/{1}",
                "echo mkdir >> " + l + "; mkdir -p /nonexistent/{0}", "echo get >> " + l + "; cp /nonexistent/{0} {1}",
                "echo exists >> " + l + "; test -f /nonexistent/{0}", null);
        final Path src = Files.writeString(tmp.resolve("src"), "x");
        try (CommandArchiveWriter w = new CommandArchiveWriter(templates)) {
            for (final String p : new String[] {"history/00/00/3f/$(touch " + marker + ")",
                    "history/00/00/3f/$(touch /tmp/pwned)", "history/00/00/3f/history-0000003f.json;touch " + marker,
                    "history/00/00/3f/`touch " + marker + "`", "../../" + marker}) {
                assertThrows(IllegalArgumentException.class, () -> w.put(p, src), p);
                assertThrows(IllegalArgumentException.class, () -> w.exists(p), p);
            }
        }
        assertFalse(Files.exists(marker));
        assertFalse(Files.exists(log), "no command ran");
    }

    @Test
    void hostileLocalFileNamesAreQuoted() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("target"));
        // an injected command would run in the JVM's working directory
        final Path marker = Path.of("pwned-marker").toAbsolutePath();
        final Path dir = Files.createDirectories(tmp.resolve("it's a $(touch pwned-marker) `x`"));
        final Path src = Files.writeString(dir.resolve("a'b \"c\" $(touch pwned-marker);d"), "payload");
        try (CommandArchiveWriter w = new CommandArchiveWriter(cp(target, true))) {
            w.put(HAS_3F, src);
        } finally {
            assertFalse(Files.deleteIfExists(marker), "the file name was run as a command");
        }
        assertEquals("payload", Files.readString(target.resolve(HAS_3F)));
    }

    @Test
    void commandsTimeOutAndAreKilled() throws Exception {
        final var templates = new CommandArchiveWriter.Templates("sleep 30; cp {0} /nonexistent/{1}", null, null,
                null, null);
        final Path src = Files.writeString(tmp.resolve("src"), "x");
        final long start = System.nanoTime();
        final PublishException e = assertThrows(PublishException.class,
                () -> new CommandArchiveWriter(templates, Duration.ofMillis(300)).put(HAS_3F, src));
        final long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e.retryable());
        assertTrue(e.getMessage().contains("timed out"), e.getMessage());
        assertTrue(ms < 10_000, "took " + ms + " ms");
    }

    @Test
    void templatesAreChecked() {
        assertThrows(IllegalArgumentException.class,
                () -> new CommandArchiveWriter.Templates("cp \"{0}\" /x/{1}", null, null, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> new CommandArchiveWriter.Templates("cp {0} '/x/{1}'", null, null, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> new CommandArchiveWriter.Templates("cp {0} /x/", null, null, null, null));
        assertThrows(IllegalArgumentException.class,
                () -> new CommandArchiveWriter.Templates("cp {0} /x/{1}", "mkdir -p /x/{1}", null, null, null));
        final var ok = new CommandArchiveWriter.Templates("cp {0} '/my dir'/{1}", null, null, null, null);
        assertEquals("cp '/a b' '/my dir'/'it'\\''s'", CommandArchiveWriter.expand(ok.put(), "/a b", "it's"));
        assertTrue(new CommandArchiveWriter(new CommandArchiveWriter.Templates(
                "curl -T {0} https://user:secret@example.org/{1}", null, null, null, null)).name()
                .matches("cmd:curl#[0-9a-f]{8}"));
    }

    @Test
    void aTargetsNameShowsNothingOfItsTemplates() throws Exception {
        // a template's variables, tokens and arguments were the target's name: in every log line, in /metrics, in
        // the published events and in the consumer group's id
        final String secret = "topsecret123";
        final String spec = "cmd:put=AWS_SECRET_ACCESS_KEY=" + secret + " /usr/bin/aws s3 cp {0} s3://b/{1}"
                + ";get=AWS_SECRET_ACCESS_KEY=" + secret + " aws s3 cp s3://b/{0} {1};exists=test -e /x/{0}";
        final String name = ArchiveWriters.displayName(spec);
        assertTrue(name.matches("cmd:aws#[0-9a-f]{8}"), name);
        try (ArchiveWriter w = ArchiveWriters.open(spec)) {
            assertEquals(name, w.name());
            final String group = PublishRunner.groupId("history-streams", w.name());
            assertFalse(group.contains(secret) || group.contains("s3"), group);
        }
        // another template, another name; a name given wins
        assertFalse(name.equals(ArchiveWriters.displayName(spec.replace("s3://b/{1}", "s3://c/{1}"))));
        try (ArchiveWriter w = ArchiveWriters.open(spec + ";name=s3-mirror")) {
            assertEquals("cmd:s3-mirror", w.name());
        }
        final IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> ArchiveWriters.open(spec + ";name=a b"));
        assertTrue(bad.getMessage().contains("name must be 1 to 64 letters"), bad.getMessage());
        // a failing command is named by the target, not by its template
        final CommandArchiveWriter failing = new CommandArchiveWriter(new CommandArchiveWriter.Templates(
                "TOKEN=" + secret + " false {0} {1}", null, null, null, null));
        final Path src = Files.writeString(tmp.resolve("f"), "x");
        final PublishException e = assertThrows(PublishException.class, () -> failing.put(HAS_3F, src));
        assertFalse(e.getMessage().contains(secret), e.getMessage());
        assertTrue(e.getMessage().contains("command 'put' of cmd:false#"), e.getMessage());
    }

    @Test
    void factoryParsesCmdSpecs() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("target"));
        final String r = CommandArchiveWriter.shellQuote(target.toString());
        final String spec = "cmd:put=cp {0} " + r + "/{1};mkdir=mkdir -p " + r + "/{0} ; true;timeout=60";
        assertEquals(Map.of("put", "cp {0} " + r + "/{1}", "mkdir", "mkdir -p " + r + "/{0} ; true", "timeout", "60"),
                ArchiveWriters.parseCommandSpec(spec.substring(4)));
        try (ArchiveWriter w = ArchiveWriters.open(spec, Map.of("retries", "2", "get", "cp " + r + "/{0} {1}",
                "exists", "test -e " + r + "/{0}"))) {
            assertTrue(w instanceof RetryingArchiveWriter rw && rw.delegate() instanceof CommandArchiveWriter);
            w.put(HAS_3F, Files.writeString(tmp.resolve("s"), "x"));
            assertTrue(w.exists(HAS_3F));
        }
        assertEquals("x", Files.readString(target.resolve(HAS_3F)));
        try (ArchiveWriter w = ArchiveWriters.open("cmd:", Map.of("put", "cp {0} " + r + "/{1}", "get",
                "cp " + r + "/{0} {1}", "exists", "test -e " + r + "/{0}"))) {
            assertTrue(w.name().startsWith("cmd:cp#"), w.name());
        }
        // without get, a target's root state cannot be read (it failed after every file was put); without exists,
        // a get failing for any reason read as "absent": files rewritten and the root state moved back
        final IllegalArgumentException noGet = assertThrows(IllegalArgumentException.class,
                () -> ArchiveWriters.open("cmd:put=cp {0} /x/{1};mkdir=mkdir -p /x/{0}"));
        assertTrue(noGet.getMessage().endsWith("missing: get, exists"), noGet.getMessage());
        final IllegalArgumentException noExists = assertThrows(IllegalArgumentException.class,
                () -> ArchiveWriters.open("cmd:put=cp {0} /x/{1};get=cp /x/{0} {1}"));
        assertTrue(noExists.getMessage().startsWith("a cmd: target needs get and exists templates")
                && noExists.getMessage().endsWith("missing: exists"), noExists.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ArchiveWriters.open("cmd:mkdir=mkdir -p /x/{0}"));
        assertThrows(IllegalArgumentException.class, () -> ArchiveWriters.open("cmd:pt=cp {0} /x/{1}"));
    }

    @Test
    void aMisspelledSettingGluedToATemplateIsRefused() {
        // ";timout=30" is not a known key, so it was not split off: "exists=test -e x;timout=30" always exits 0, and
        // every file was skipped as present while the root state moved on
        final String base = "cmd:put=cp {0} /x/{1};get=cp /x/{0} {1};exists=test -e /x/{0}";
        for (final String typo : new String[] {";timout=30", ";Timeout=30", ";renmae=mv {0} {1}", ";exist=true"}) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ArchiveWriters.parseCommandSpec((base + typo).substring(4)));
            assertTrue(e.getMessage().contains("looks like a misspelled setting"), e.getMessage());
        }
        // words far from every key, or with a space after the ';', are part of the command
        assertEquals("test -e /x/{0};FOOBAR=1 true; timout=3",
                ArchiveWriters.parseCommandSpec((base + ";FOOBAR=1 true; timout=3").substring(4)).get("exists"));
    }

    @Test
    void commandsStillRunningAreKilledWhenTheWriterCloses() throws Exception {
        // the threads that wait for them are abandoned at exit: a hanging put of each file in flight stayed behind
        final Path target = Files.createDirectories(tmp.resolve("hang"));
        final String r = CommandArchiveWriter.shellQuote(target.toString());
        final ArchiveWriter w = ArchiveWriters.open("cmd:put=sleep 987 # {0} {1};get=cp " + r + "/{0} {1};exists=test -e "
                + r + "/{0}", Map.of("retries", "1"));
        final Path file = Files.writeString(tmp.resolve("f"), "x");
        final java.util.concurrent.atomic.AtomicReference<Exception> failed = new java.util.concurrent.atomic.AtomicReference<>();
        final Thread t = new Thread(() -> {
            try {
                w.put(HAS_3F, file);
            } catch (final Exception e) {
                failed.set(e);
            }
        });
        t.start();
        final java.util.function.Supplier<Long> sleeping = () -> ProcessHandle.current().descendants()
                .filter(p -> p.info().commandLine().orElse("").contains("987")).count();
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (sleeping.get() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(sleeping.get() > 0, "the put runs");
        w.close();
        t.join(10_000);
        assertFalse(t.isAlive());
        assertEquals(0L, sleeping.get(), "no command left behind");
        assertTrue(failed.get() instanceof PublishException, String.valueOf(failed.get()));
    }
}
