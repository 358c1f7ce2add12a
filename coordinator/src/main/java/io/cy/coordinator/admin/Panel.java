package io.cy.coordinator.admin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/** One read endpoint of the admin API, the data of one console panel. Runs on an admin thread. */
interface Panel {

    /**
     * @param query the request's query parameters
     * @throws ApiException for a bad parameter or a source that cannot answer
     */
    ObjectNode read(Map<String, String> query);
}
