package io.historystreams.publish;

import io.historystreams.archive.ArchivePaths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalArchiveWriterTest {
    private static final String HAS_3F = ArchivePaths.has(0x3f);

    @TempDir
    Path tmp;

    @Test
    void publishesFixtureCheckpointsByteIdentical() throws Exception {
        final FixtureSet set = new FixtureSet();
        final Path target = tmp.resolve("target");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target)) {
            assertTrue(w.readRootState().isEmpty());
            assertFalse(w.exists(HAS_3F));
            set.publish(w);
            assertTrue(w.exists(HAS_3F));
            assertTrue(w.exists(set.paths.get(0)));
            assertArrayEquals(set.rootState(), w.readRootState().orElseThrow());
        }
        set.assertPublished(target);
    }

    @Test
    void aDirectoryItCreatedIsRemovedAtCloseWhenNothingWasWrittenToIt() throws Exception {
        // a run with nothing to publish left an empty directory behind (a trial)
        final Path unused = tmp.resolve("unused");
        new LocalArchiveWriter(unused, false).close();
        assertFalse(Files.exists(unused));
        // written to: kept
        final Path used = tmp.resolve("used");
        try (LocalArchiveWriter w = new LocalArchiveWriter(used, false)) {
            w.put("history/00/00/00/history-0000003f.json", Files.writeString(tmp.resolve("has"), "{}"));
        }
        assertTrue(Files.isRegularFile(used.resolve("history/00/00/00/history-0000003f.json")));
        // there before, empty: not this writer's to remove
        final Path before = Files.createDirectory(tmp.resolve("before"));
        new LocalArchiveWriter(before, false).close();
        assertTrue(Files.isDirectory(before));
        // nested: the parents it created go too, those there before stay (trial 83: the parents were left)
        new LocalArchiveWriter(before.resolve("a/b/c"), false).close();
        assertFalse(Files.exists(before.resolve("a")));
        assertTrue(Files.isDirectory(before));
    }

    @Test
    void aTargetDirectoryGoneWhileWritingIsSaidSoAndWrittenAgainOnceBack() throws Exception {
        // a trial: "leads outside the target root (a symlink ...)" for a directory moved away
        final Path target = tmp.resolve("gone");
        final Path has = Files.writeString(tmp.resolve("has"), "{}");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target, false)) {
            w.put(HAS_3F, has);
            Files.move(target, tmp.resolve("moved-away"));
            final PublishException e = assertThrows(PublishException.class, () -> w.put(HAS_3F, has));
            assertEquals(target + ": the target directory does not exist any more (removed, replaced or unmounted?): "
                    + "publishing goes on once it is there again (create or mount it)", e.getMessage());
            assertTrue(e.retryable());
            assertFalse(Files.exists(target), "not made again: an unmounted disk's mount point is not the disk");
            Files.createDirectory(target);
            w.put(HAS_3F, has);
            assertTrue(w.exists(HAS_3F));
        }
    }

    @Test
    void aTargetThatIsAFileIsSaidSo() throws Exception {
        // it said "FileAlreadyExistsException: <path>"
        final Path file = Files.writeString(tmp.resolve("a-file"), "x");
        final PublishException e = assertThrows(PublishException.class, () -> new LocalArchiveWriter(file));
        assertEquals("cannot use " + file + " as a target archive: " + file + " is a file, not a directory",
                e.getMessage());
    }

    @Test
    void withoutFsyncAndReplacingExisting() throws Exception {
        final Path target = tmp.resolve("target");
        final Path a = Files.writeString(tmp.resolve("a"), "first");
        final Path b = Files.writeString(tmp.resolve("b"), "second");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target, false)) {
            w.put(HAS_3F, a);
            w.put(HAS_3F, b);
            w.putRootState("{\"v\":1}".getBytes(StandardCharsets.UTF_8));
            w.putRootState("{\"v\":2}".getBytes(StandardCharsets.UTF_8));
            assertEquals("{\"v\":2}", new String(w.readRootState().orElseThrow(), StandardCharsets.UTF_8));
        }
        assertEquals("second", Files.readString(target.resolve(HAS_3F)));
        assertEquals(0, countTemporaries(target));
    }

    @Test
    void withLinkFalseAFileIsCopiedSoAWriteInPlaceToTheMirrorLeavesTheVerifiedCopyAlone() throws Exception {
        // a trial truncated a mirror's file: its hard link was the blob store's verified copy, truncated too
        final Path blob = Files.writeString(tmp.resolve("blob"), "verified bytes");
        final Path linked = tmp.resolve("linked");
        final Path copied = tmp.resolve("copied");
        try (ArchiveWriter a = ArchiveWriters.open(linked.toString(), java.util.Map.of("fsync", "false"));
                ArchiveWriter b = ArchiveWriters.open(copied.toString(), java.util.Map.of("link", "false"))) {
            a.put(HAS_3F, blob);
            b.put(HAS_3F, blob);
        }
        assertTrue(Files.isSameFile(blob, linked.resolve(HAS_3F)), "the default: a hard link");
        assertFalse(Files.isSameFile(blob, copied.resolve(HAS_3F)));
        Files.writeString(copied.resolve(HAS_3F), "damaged");
        assertEquals("verified bytes", Files.readString(blob));
        // the setting, as publish.link
        assertEquals(java.util.Map.of("link", "false"), ArchiveWriters.options(copied.toString(),
                java.util.Map.of("link", "false")));
    }

    @Test
    void theSameFilePublishedTwiceAsALinkLeavesNoTemporary() throws Exception {
        // two processes publishing one blob to one directory: the second renames its link onto a name that is already
        // a link to the same file, which rename(2) does without removing the temporary name (943 left by two replays)
        final Path target = tmp.resolve("target");
        final Path blob = Files.writeString(tmp.resolve("blob"), "bytes");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target, false)) {
            w.put(HAS_3F, blob);
            w.put(HAS_3F, blob);
        }
        assertEquals("bytes", Files.readString(target.resolve(HAS_3F)));
        assertEquals(0, countTemporaries(target));
    }

    @Test
    void refusesHostilePathsBeforeTouchingTheDisk() throws Exception {
        final Path target = tmp.resolve("target");
        final Path src = Files.writeString(tmp.resolve("src"), "x");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target)) {
            for (final String p : new String[] {"../escaped.json", "/tmp/escaped.json", tmp + "/escaped.json",
                    "history/00/00/3f/../../../../../escaped.json", "history\\00\\00\\3f\\history-0000003f.json"}) {
                assertThrows(IllegalArgumentException.class, () -> w.put(p, src), p);
                assertThrows(IllegalArgumentException.class, () -> w.exists(p), p);
            }
        }
        assertFalse(Files.exists(tmp.resolve("escaped.json")));
        // nothing written below the root: the directory the writer created, left empty, is removed at its close
        assertFalse(Files.exists(target), "nothing written below the root");
    }

    @Test
    void refusesSymlinkLeadingOutsideTheRoot() throws Exception {
        final Path target = Files.createDirectories(tmp.resolve("target"));
        final Path outside = Files.createDirectories(tmp.resolve("outside"));
        final Path src = Files.writeString(tmp.resolve("src"), "x");
        Files.createSymbolicLink(target.resolve("history"), outside);
        Files.createDirectories(target.resolve("ledger/00"));
        Files.createSymbolicLink(target.resolve("ledger/00/00"), outside);
        try (LocalArchiveWriter w = new LocalArchiveWriter(target)) {
            final PublishException e = assertThrows(PublishException.class, () -> w.put(HAS_3F, src));
            assertTrue(e.getMessage().contains("outside the target root"), e.getMessage());
            // said once (it was wrapped in itself: "cannot resolve ...: PublishException: ... refused ...")
            assertEquals(1, e.getMessage().split("refused target path", -1).length - 1, e.getMessage());
            assertFalse(e.retryable());
            assertThrows(PublishException.class,
                    () -> w.put(ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, 0x3f), src));
            assertThrows(PublishException.class, () -> w.exists(HAS_3F));
            // a symlink that stays inside the root is fine
            Files.createDirectories(target.resolve("real/00"));
            Files.createSymbolicLink(target.resolve("results"), target.resolve("real"));
            w.put(ArchivePaths.checkpointFile(io.historystreams.archive.FileType.RESULTS, 0x3f), src);
        }
        try (Stream<Path> s = Files.walk(outside)) {
            assertEquals(1, s.count(), "nothing was created outside the root");
        }
    }

    @Test
    void failedPutsLeaveNothingUnderTheFinalName() throws Exception {
        final Path target = tmp.resolve("target");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target)) {
            // source vanished before the copy
            final PublishException missing = assertThrows(PublishException.class,
                    () -> w.put(HAS_3F, tmp.resolve("does-not-exist")));
            assertFalse(missing.retryable());
            assertTrue(missing.getMessage().contains(HAS_3F), missing.getMessage());
            assertFalse(Files.exists(target.resolve(HAS_3F)));
            assertFalse(w.exists(HAS_3F));

            // a directory is where the file should go: the rename fails after the full copy
            final String ledger = ArchivePaths.checkpointFile(io.historystreams.archive.FileType.LEDGER, 0x3f);
            Files.createDirectories(target.resolve(ledger));
            final Path src = Files.write(tmp.resolve("src"), new byte[1 << 20]);
            assertThrows(PublishException.class, () -> w.put(ledger, src));
            assertTrue(Files.isDirectory(target.resolve(ledger)));
            assertFalse(w.exists(ledger));

            // the source is a directory
            final Path dir = Files.createDirectories(tmp.resolve("srcdir"));
            assertThrows(PublishException.class, () -> w.put(HAS_3F, dir));
            assertFalse(Files.exists(target.resolve(HAS_3F)));
        }
        assertEquals(0, countTemporaries(target), "failed puts remove their temporaries");
    }

    @Test
    void staleTemporariesAreIgnoredAndCleaned() throws Exception {
        final Path target = tmp.resolve("target");
        final Path dir = Files.createDirectories(target.resolve("history/00/00/00"));
        Files.writeString(dir.resolve(".history-0000003f.json.1234abcd.tmp"), "partial");
        Files.createDirectories(target.resolve(".well-known"));
        Files.writeString(target.resolve(".well-known/.stellar-history.json.9f0e.tmp"), "partial");
        final java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.fromMillis(
                System.currentTimeMillis() - LocalArchiveWriter.STALE_AFTER.toMillis() - 60_000);
        Files.setLastModifiedTime(dir.resolve(".history-0000003f.json.1234abcd.tmp"), old);
        Files.setLastModifiedTime(target.resolve(".well-known/.stellar-history.json.9f0e.tmp"), old);
        // another worker's, being written to now (workers share a mirror): it was deleted under it
        Files.writeString(dir.resolve(".history-0000007f.json.5678ef.tmp"), "in flight");
        // one of a process of this host that is gone (kill -9, then a restart at once): deleted however new; one of
        // a process that runs (this one), or of another host, is kept
        final Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        final String host = LocalArchiveWriter.HOST_TAG;
        Files.writeString(dir.resolve(".history-000000bf.json." + host + "-" + gone.pid() + "-9a.tmp"), "crashed");
        Files.writeString(dir.resolve(".history-000000bf.json." + host + "-" + ProcessHandle.current().pid()
                + "-9b.tmp"), "in flight");
        final String otherHost = host.equals("00000000") ? "00000001" : "00000000";
        Files.writeString(dir.resolve(".history-000000bf.json." + otherHost + "-" + gone.pid() + "-9c.tmp"),
                "in flight elsewhere");
        Files.writeString(dir.resolve("history-0000007f.json"), "kept");
        // an operator's own hidden .tmp files, in the archive's directories or beside them, are not this writer's
        // (every hidden .tmp anywhere in the target was deleted, silently)
        Files.createDirectories(target.resolve("www"));
        Files.writeString(target.resolve("www/.session.tmp"), "keep");
        Files.writeString(target.resolve(".operator-notes.tmp"), "keep");
        Files.writeString(dir.resolve(".notes.tmp"), "keep");
        try (LocalArchiveWriter w = new LocalArchiveWriter(target)) {
            assertFalse(w.exists(HAS_3F));
            assertTrue(w.readRootState().isEmpty());
            assertEquals(3, w.cleanStaleTemporaries());
            assertEquals(6, countTemporaries(target), "the operator's three and the three in flight are left");
            assertTrue(Files.exists(dir.resolve(".history-0000007f.json.5678ef.tmp")));
            assertFalse(Files.exists(dir.resolve(".history-000000bf.json." + host + "-" + gone.pid() + "-9a.tmp")));
            assertTrue(Files.exists(target.resolve("www/.session.tmp")));
            assertTrue(Files.exists(dir.resolve(".notes.tmp")));
            assertTrue(w.exists(ArchivePaths.has(0x7f)));
        }
    }

    @Test
    void factoryOpensLocalTargets() throws Exception {
        final Path target = tmp.resolve("via-factory");
        Files.createDirectories(target.resolve("history/00/00/00"));
        Files.writeString(target.resolve("history/00/00/00/.history-0000003f.json.1.tmp"), "partial");
        Files.setLastModifiedTime(target.resolve("history/00/00/00/.history-0000003f.json.1.tmp"),
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
        try (ArchiveWriter w = ArchiveWriters.open(target.toString())) {
            assertTrue(w instanceof RetryingArchiveWriter r && r.delegate() instanceof LocalArchiveWriter);
            assertEquals(0, countTemporaries(target), "stale temporaries cleaned on open");
            w.put(HAS_3F, Files.writeString(tmp.resolve("s"), "x"));
        }
        try (ArchiveWriter w = ArchiveWriters.open(target.toUri().toString(), java.util.Map.of("fsync", "false"))) {
            assertTrue(w.exists(HAS_3F));
        }
        assertThrows(IllegalArgumentException.class,
                () -> ArchiveWriters.open(target.toString(), java.util.Map.of("fsnyc", "false")));
        assertThrows(IllegalArgumentException.class, () -> ArchiveWriters.open("s3://bucket/prefix"));
    }

    private static long countTemporaries(final Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".tmp")
                    || p.getFileName().toString().contains(".tmp-")).count();
        }
    }
}
