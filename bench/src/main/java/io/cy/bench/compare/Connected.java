package io.cy.bench.compare;

import io.cy.bench.load.LoadDriver;

/** A load driver over its own connections to one target, which {@link #close} closes. */
record Connected(LoadDriver driver, Runnable closer) implements AutoCloseable {

    @Override
    public void close() {
        closer.run();
    }
}
