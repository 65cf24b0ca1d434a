package io.historystreams.cli;

import io.historystreams.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command's output under locales whose number formats differ from English: a JVM of its own, as the JVM takes
 * its default locale from {@code LANG} (or these properties) at start-up.
 */
class LocaleTest {
    @TempDir
    Path tmp;

    private String verifyUnder(final String... localeProperties) throws Exception {
        final Path out = tmp.resolve("out-" + String.join("-", localeProperties).replaceAll("[^A-Za-z]", "") + ".txt");
        final List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(localeProperties));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "verify", "--archive",
                Fixtures.testnetP24Hot().toString(), "--quiet"));
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "verify did not finish");
        final String text = Files.readString(out, StandardCharsets.UTF_8);
        // checkpoint 0x3f of this fixture is incomplete: one failure line, then the summary
        assertEquals(ExitCode.VERIFICATION_FAILED, p.exitValue(), text);
        return text;
    }

    @Test
    void numbersAreAsciiAndDecimalPointsDotsUnderAnyLocale() throws Exception {
        final String english = verifyUnder("-Duser.language=en", "-Duser.country=US");
        assertTrue(english.contains("checkpoint 63 (0x3f) INCOMPLETE: "), english);
        for (final String[] locale : List.of(
                new String[] {"-Duser.language=ar", "-Duser.country=EG"},
                new String[] {"-Duser.language=th", "-Duser.country=TH", "-Duser.variant=TH"},
                new String[] {"-Duser.language=de", "-Duser.country=DE"})) {
            final String text = verifyUnder(locale);
            assertTrue(text.contains("checkpoint 63 (0x3f) INCOMPLETE: "), String.join(" ", locale) + ": " + text);
            assertTrue(text.matches("(?s).*\\n2 checkpoints: 1 verified, 1 incomplete, 0 failed; .* MB in "
                    + "[0-9]+\\.[0-9]{2} s\\n"), String.join(" ", locale) + ": " + text);
            assertTrue(text.chars().allMatch(c -> c < 128), String.join(" ", locale) + ": not ASCII: " + text);
        }
    }
}
