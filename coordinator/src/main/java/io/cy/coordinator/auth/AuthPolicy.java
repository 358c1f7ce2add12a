package io.cy.coordinator.auth;

import static java.util.Objects.requireNonNull;

import io.cy.coordinator.config.CoordinatorConfig;

/** Which methods need what: open, any authenticated caller, or a role. */
final class AuthPolicy {

    /** What a method requires; {@code role} is set only for {@link Kind#ROLE}. */
    record Requirement(Kind kind, String role) {
        enum Kind { OPEN, AUTHENTICATED, ROLE }
    }

    private static final Requirement OPEN = new Requirement(Requirement.Kind.OPEN, null);
    private static final Requirement AUTHENTICATED = new Requirement(Requirement.Kind.AUTHENTICATED, null);

    private final Requirement health;
    private final Requirement reflection;

    AuthPolicy(CoordinatorConfig.Auth config) {
        requireNonNull(config, "config");
        this.health = config.openHealth() ? OPEN : AUTHENTICATED;
        this.reflection = config.openReflection() ? OPEN : AUTHENTICATED;
    }

    Requirement requirementFor(String serviceName, String fullMethodName) {
        switch (serviceName) {
            case "grpc.health.v1.Health":
                return health;
            case "grpc.reflection.v1.ServerReflection":
            case "grpc.reflection.v1alpha.ServerReflection":
                return reflection;
            case "cy.llm.AiInference":
            case "AiInference":
                if (fullMethodName.endsWith("/Health")) {
                    return health;
                }
                // Control needs an identity here; which command needs which role is decided by
                // the Control handler, which sees the command.
                return AUTHENTICATED;
            default:
                // Anything added later is closed until someone decides otherwise.
                return AUTHENTICATED;
        }
    }
}
