package io.weightpub.store.internal;

import io.weightpub.store.spi.SlotMemory;

import java.util.concurrent.atomic.AtomicInteger;

/** A slot and its pin count: readers holding it (>= 0), or -1 while the writer owns it. */
final class Slot {
    final SlotMemory memory;
    final AtomicInteger pins = new AtomicInteger(-1);
    /** The committed version whose verified bytes the slot holds; cleared by any claim or write. */
    volatile Model.Resident resident;
    /** When its version stopped being active (a model-wide sequence); the lowest is reused first. */
    long retiredSeq;

    Slot(SlotMemory memory) {
        this.memory = memory;
    }

    boolean tryPin() {
        while (true) {
            int pins = this.pins.get();
            if (pins < 0) {
                return false;
            }
            if (this.pins.compareAndSet(pins, pins + 1)) {
                return true;
            }
        }
    }

    void unpin() {
        pins.decrementAndGet();
    }

    boolean tryClaim() {
        return pins.compareAndSet(0, -1);
    }

    /** The writer gives the slot up: it becomes readable (if active) or free. */
    void release() {
        pins.set(0);
    }
}
