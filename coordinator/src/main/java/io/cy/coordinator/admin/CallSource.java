package io.cy.coordinator.admin;

import java.util.List;

/** Where the console's recent calls come from: the audit log, or the ring in memory. */
interface CallSource {

    /** {@code audit} or {@code memory}, as the API reports it. */
    String name();

    /** At most 100 calls that pass {@code filter}, newest first. Runs on an admin thread. */
    List<CallRow> recent(CallFilter filter);
}
