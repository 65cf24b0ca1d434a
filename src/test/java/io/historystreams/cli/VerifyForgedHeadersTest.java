package io.historystreams.cli;

import io.historystreams.testing.ForgedArchive;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static io.historystreams.cli.VerifyRun.failureReasons;
import static io.historystreams.cli.VerifyRun.failures;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Headers of pubnet-genesis rewritten and re-chained (every hash consistent), so that only the rule under test can
 * tell: the genesis ledger's protocol, and the empty transaction set of a protocol-upgrade ledger that starts a
 * checkpoint.
 */
class VerifyForgedHeadersTest {
    @TempDir
    Path tmp;

    private VerifyRun verify(final String name, final java.util.function.UnaryOperator<ForgedArchive> forge)
            throws Exception {
        final ForgedArchive a = forge.apply(ForgedArchive.copyOfPubnetGenesis(tmp.resolve(name)));
        a.write();
        return VerifyRun.verify(tmp, "--archive", a.root().toString());
    }

    @Test
    void anUpgradeLedgerStartingACheckpointCarriesTheEmptySetOfThePreviousProtocol() throws Exception {
        for (final int to : new int[] {20, 23}) {
            // valid: ledger 64, the first of checkpoint 0x7f, upgrades to `to`; with no transactions its set is the
            // empty one built before the upgrade applies, in ledger 63's protocol (1: the legacy form)
            final VerifyRun valid = verify("valid-" + to, a -> a.upgrade(64, to));
            valid.assertExit(0);
            assertEquals(2, valid.summary().get("verified").asInt(), valid::describe);
            // wrong: the empty set in the new protocol's form. This passed: checkpoint 0x7f's cross-checks accepted
            // any form up to the new protocol, not knowing the previous ledger's
            final VerifyRun wrong = verify("wrong-" + to, a -> a.upgrade(64, to).emptySetIn(64, to));
            wrong.assertExit(1);
            assertEquals("VERIFIED", wrong.checkpoint(63).get("status").asText(), wrong::describe);
            assertEquals(java.util.List.of("TX_SET_HASH_MISMATCH"), failureReasons(wrong.checkpoint(127)),
                    wrong::describe);
            final String detail = failures(wrong.checkpoint(127)).get(0).get("detail").asText();
            assertTrue(detail.contains("ledger 64") && detail.contains("previous ledger's protocol 1"), detail);
            assertTrue(wrong.out.contains("TX_SET_HASH_MISMATCH"), wrong::describe);
        }
        // a protocol that changes at the checkpoint's start without an upgrade entry (forged headers): the previous
        // ledger's protocol rules all the same (verify took the ledger's own for the first ledger of a range's
        // checkpoints, the opposite of ingest's verdicts)
        final VerifyRun previousForm = verify("no-entry-previous", a -> a.versionFrom(64, 20));
        previousForm.assertExit(0);
        final VerifyRun ownForm = verify("no-entry-own", a -> a.versionFrom(64, 20).emptySetIn(64, 20));
        ownForm.assertExit(1);
        assertEquals(java.util.List.of("TX_SET_HASH_MISMATCH"), failureReasons(ownForm.checkpoint(127)),
                ownForm::describe);
        // the same inside a checkpoint was caught before, and still is
        final VerifyRun inside = verify("inside", a -> a.upgrade(70, 20).emptySetIn(70, 20));
        inside.assertExit(1);
        assertEquals(java.util.List.of("TX_SET_HASH_MISMATCH"), failureReasons(inside.checkpoint(127)),
                inside::describe);
        // saying which form was expected (a trial found only "an entry is missing")
        final String insideDetail = failures(inside.checkpoint(127)).get(0).get("detail").asText();
        assertTrue(insideDetail.contains("ledger 70 has no transaction entry but its header's txSetHash ")
                && insideDetail.contains(" is not the empty set in the form of the previous ledger's protocol 1"),
                insideDetail);
    }

    @Test
    void aTransactionSetHasTheFormOfThePreviousLedgersProtocolAndNamesItsHeadersPreviousLedger() throws Exception {
        // valid: a legacy entry up to the protocol-20 upgrade ledger (its set is built before the upgrade applies),
        // a generalized one after it, in the middle of a checkpoint and at its first ledger
        for (final long at : new long[] {100, 64}) {
            final VerifyRun valid = verify("valid-" + at, a -> a.upgrade(at, 20).emptyEntry(at, false)
                    .emptyEntry(at + 1, true));
            valid.assertExit(0);
            assertEquals(2, valid.summary().get("verified").asInt(), valid::describe);
        }
        // wrong forms, each with its header's txSetHash its own hash (a trial's forgeries passed: only ledgers without
        // an entry had their form checked)
        assertFormRefused("legacy-in-20", a -> a.versionFrom(90, 20).emptyEntry(100, false), 100,
                "ledger 100 has a legacy transaction set, but the previous ledger's protocol 20 makes generalized sets");
        assertFormRefused("generalized-in-1", a -> a.emptyEntry(100, true), 100,
                "ledger 100 has a generalized transaction set, but the previous ledger's protocol 1 makes legacy sets");
        // the first ledger of a checkpoint, whose previous ledger's protocol verify learns only from the checkpoint
        // before: the upgrade ledger's set in the new form, and a legacy set after a protocol-20 ledger
        assertFormRefused("generalized-at-upgrade", a -> a.upgrade(64, 20).emptyEntry(64, true), 64,
                "ledger 64 has a generalized transaction set, but the previous ledger's protocol 1 makes legacy sets");
        assertFormRefused("legacy-after-20", a -> a.upgrade(63, 20).emptyEntry(64, false), 64,
                "ledger 64 has a legacy transaction set, but the previous ledger's protocol 20 makes generalized sets");
        // a set naming another previous ledger than its header does (stellar-core refuses it)
        final io.historystreams.verify.Hash other = io.historystreams.verify.Hash.sha256(new byte[] {5});
        final VerifyRun named = verify("named", a -> a.emptyEntry(100, false).entryNaming(100, other));
        named.assertExit(1);
        assertEquals(java.util.List.of("TX_SET_HASH_MISMATCH"), failureReasons(named.checkpoint(127)),
                named::describe);
        final String detail = failures(named.checkpoint(127)).get(0).get("detail").asText();
        assertTrue(detail.contains("ledger 100 transaction set names previous ledger hash " + other.shortHex()
                + ", its header's previousLedgerHash is "), detail);
    }

    @Test
    void withTwoMirrorsWhoseChainsDifferTheCopyThatLinksIsTaken() throws Exception {
        // the first mirror's 0x7f is self-consistent but does not link to 0x3f (ledger 64 names another previous
        // ledger, the ledgers after it re-chained): verify failed 0x7f, CHAIN_LINK_BROKEN, blaming that mirror, and a
        // trial's longer range verified such a segment against itself and failed the honest mirror's next checkpoint
        final ForgedArchive a = ForgedArchive.copyOfPubnetGenesis(tmp.resolve("rechained"))
                .linkTo(64, io.historystreams.verify.Hash.sha256(new byte[] {7})).write();
        // alone, the re-chained mirror fails where its chain breaks
        assertTheHonestCopyIsTaken(a, 127);
    }

    @Test
    void aCopyThatLinksToTheOneBeforeButNotToTheOneAfterIsReadFromTheMirrorWhoseCopyLinksBothWays() throws Exception {
        // the first mirror's 0x3f is self-consistent (a close time changed, its ledgers re-chained) and its 0x7f is
        // the honest one, which does not link to it: verify took the forged 0x3f and failed 0x7f, blaming both
        // mirrors, as the pipeline did
        final ForgedArchive a = ForgedArchive.copyOfPubnetGenesis(tmp.resolve("one-forged")).closeTime(50, 1_234_567L)
                .write();
        ForgedArchive.copyCheckpoints(io.historystreams.testing.Fixtures.pubnetGenesis(), a.root(), 127, 127);
        // alone, the mirror's 0x7f fails (one source: nothing says which side is wrong)
        assertTheHonestCopyIsTaken(a, 63);
    }

    /**
     * With the honest pubnet-genesis as the second mirror, both checkpoints verify and the honest mirror's ledger file
     * of {@code cp} is taken, the forged mirror blamed; alone, the forged mirror fails 0x7f, CHAIN_LINK_BROKEN.
     */
    private void assertTheHonestCopyIsTaken(final ForgedArchive a, final long cp) throws Exception {
        final String honest = io.historystreams.testing.Fixtures.pubnetGenesis().toString();
        final VerifyRun r = VerifyRun.verify(tmp, "--archive", a.root().toString(), "--archive", honest);
        r.assertExit(0);
        assertEquals(2, r.summary().get("verified").asInt(), r::describe);
        final com.fasterxml.jackson.databind.JsonNode ledger = VerifyRun.file(r.checkpoint(cp),
                VerifyRun.path(io.historystreams.archive.FileType.LEDGER, cp));
        assertEquals(honest, ledger.get("source").asText(), r::describe);
        assertEquals(a.root().toString(), ledger.get("blamed").get(0).asText(), r::describe);
        assertEquals("VERIFIED", r.checkpoint(127).get("chainLink").asText(), r::describe);
        final VerifyRun alone = VerifyRun.verify(tmp, "--archive", a.root().toString());
        alone.assertExit(1);
        assertEquals("VERIFIED", alone.checkpoint(63).get("status").asText(), alone::describe);
        assertEquals(java.util.List.of("CHAIN_LINK_BROKEN"), failureReasons(alone.checkpoint(127)),
                alone::describe);
    }

    private void assertFormRefused(final String name, final java.util.function.UnaryOperator<ForgedArchive> forge,
            final long ledger, final String expected) throws Exception {
        final VerifyRun r = verify(name, forge);
        r.assertExit(1);
        final long cp = ledger < 64 ? 63 : 127;
        assertEquals(java.util.List.of("TX_SET_HASH_MISMATCH"), failureReasons(r.checkpoint(cp)), r::describe);
        final String detail = failures(r.checkpoint(cp)).get(0).get("detail").asText();
        assertTrue(detail.contains(expected), detail);
    }

    @Test
    void theGenesisLedgerHasProtocolZero() throws Exception {
        final VerifyRun r = verify("genesis-protocol", a -> a.version(1, 1));
        r.assertExit(1);
        assertEquals(java.util.List.of("CHAIN_LINK_BROKEN"), failureReasons(r.checkpoint(63)), r::describe);
        final String detail = failures(r.checkpoint(63)).get(0).get("detail").asText();
        assertTrue(detail.contains("genesis ledger 1 has protocol 1, not 0"), detail);
        assertEquals("VERIFIED", r.checkpoint(127).get("status").asText(), r::describe);
    }
}
