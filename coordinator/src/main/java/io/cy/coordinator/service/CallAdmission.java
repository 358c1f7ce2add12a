package io.cy.coordinator.service;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.auth.Identity;
import io.cy.coordinator.quota.QuotaDecision;
import io.cy.coordinator.quota.Quotas;
import io.cy.coordinator.routing.Route;
import io.cy.llm.proto.StreamPredictRequest;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;

/**
 * Whether a StreamPredict call may go on, before a sidecar is chosen: the request is valid, it
 * claims no other tenant than the caller's credential, the audit log can take it, and the
 * tenant's quota admits it for the route it resolved to.
 */
public final class CallAdmission {

    private final RequestValidator validator;
    private final Quotas quotas;
    private final BooleanSupplier auditAccepting;

    /**
     * @param auditAccepting false while the audit log refuses events (fail_closed): new calls are
     *     refused rather than served unaudited
     */
    public CallAdmission(RequestValidator validator, Quotas quotas, BooleanSupplier auditAccepting) {
        this.validator = requireNonNull(validator, "validator");
        this.quotas = requireNonNull(quotas, "quotas");
        this.auditAccepting = requireNonNull(auditAccepting, "auditAccepting");
    }

    /** INVALID_ARGUMENT or PERMISSION_DENIED for a request message that may not be forwarded; null when it may. */
    public Status check(StreamPredictRequest request, Identity identity) {
        final Status invalid = validator.validate(request);
        return invalid != null ? invalid : checkTenant(request, identity);
    }

    /** UNAVAILABLE while the audit log cannot take the call's event; null when it can. */
    public Status auditGate() {
        return auditAccepting.getAsBoolean() ? null : Status.UNAVAILABLE.withDescription("audit log unavailable");
    }

    /**
     * The quota's decision. {@code quota.models} allows the call when it lists the model id as
     * requested, the alias it named, or the resolved {@code backend/model}.
     */
    public QuotaDecision admit(String tenant, StreamPredictRequest request, Route route) {
        return quotas.admit(tenant, request, modelNames(request, route));
    }

    /**
     * As {@link #admit}, completed when the quota store answers: at once in memory, within
     * {@code quota.redis.timeout} from Redis, so the caller's thread never waits for it.
     */
    public CompletionStage<QuotaDecision> admitAsync(String tenant, StreamPredictRequest request, Route route) {
        return quotas.admitAsync(tenant, request, modelNames(request, route));
    }

    private static List<String> modelNames(StreamPredictRequest request, Route route) {
        final List<String> names = new ArrayList<>(3);
        names.add(request.getModelId());
        if (!route.alias().isEmpty()) {
            names.add(route.alias());
        }
        for (String backend : route.backends()) {
            names.add(backend + "/" + route.model());
        }
        return names;
    }

    /** Whose budget the call uses: the credential's tenant; without authentication, the request's. */
    public static String tenantOf(StreamPredictRequest request, Identity identity) {
        if (identity != null) {
            return identity.tenant();
        }
        final String claimed = request.getMetadata().getTenant();
        return claimed.isEmpty() ? "default" : claimed;
    }

    /** PERMISSION_DENIED when the request claims another tenant than the caller's credential. */
    private static Status checkTenant(StreamPredictRequest request, Identity identity) {
        final String claimed = request.getMetadata().getTenant();
        if (identity == null || claimed.isEmpty() || claimed.equals(identity.tenant())) {
            return null;
        }
        return Status.PERMISSION_DENIED.withDescription("metadata.tenant: '" + claimed
                + "' does not match the authenticated tenant '" + identity.tenant() + "'");
    }
}
