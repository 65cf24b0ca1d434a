package io.historystreams.topology;

import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.Punctuator;
import org.apache.kafka.streams.processor.api.ProcessorContext;

import java.time.Duration;

/**
 * A wall-clock punctuator scheduled only while a processor has work for it (fetches in flight, retries waiting).
 * Kafka Streams commits a task after every punctuation, whether it did anything or not: with punctuators always
 * scheduled, an idle {@code tail} or {@code run} committed a transaction (offsets only) about 12 times a second,
 * and {@code __consumer_offsets} and {@code __transaction_state} grew by 45 MB an hour with no work (a trial).
 */
final class OnDemandPunctuator {
    private final ProcessorContext<?, ?> context;
    private final Duration interval;
    private final Punctuator punctuator;
    private Cancellable scheduled;
    private Duration scheduledInterval;

    OnDemandPunctuator(final ProcessorContext<?, ?> context, final Duration interval, final Punctuator punctuator) {
        this.context = context;
        this.interval = interval;
        this.punctuator = punctuator;
    }

    /** Schedules the punctuator (every {@code interval}) unless it is scheduled. */
    void start() {
        if (scheduled == null) {
            schedule(interval);
        }
    }

    /**
     * Makes the next punctuation come within {@code in} (and not before {@code interval}): scheduled anew, every that
     * long, when it is not scheduled or scheduled less often. For work due at a known time (a retry's backoff).
     */
    void within(final Duration in) {
        final Duration every = atLeastInterval(in);
        if (scheduled == null || scheduledInterval.compareTo(every) > 0) {
            schedule(every);
        }
    }

    /**
     * Schedules the punctuator anew, first in and then every {@code in} (at least {@code interval}), also from the
     * punctuator itself: nothing to do before then.
     */
    void next(final Duration in) {
        final Duration every = atLeastInterval(in);
        if (scheduled == null || !scheduledInterval.equals(every)) {
            schedule(every);
        }
    }

    /** Cancels the punctuator, if scheduled (also from the punctuator itself). */
    void stop() {
        if (scheduled != null) {
            scheduled.cancel();
            scheduled = null;
        }
    }

    private Duration atLeastInterval(final Duration in) {
        return in.compareTo(interval) < 0 ? interval : in;
    }

    private void schedule(final Duration every) {
        stop();
        scheduled = context.schedule(every, PunctuationType.WALL_CLOCK_TIME, punctuator);
        scheduledInterval = every;
    }
}
