/**
 * The coordinator's gRPC transport, on Netty's HTTP/2 under grpc-java's call API: {@code server}
 * (the listeners, whose streams are grpc-java {@code ServerCall}s), {@code client} (StreamPredict
 * streams to the sidecars) and {@code wire} (what both share: headers, trailers, statuses,
 * messages cut out of DATA frames, flood limits, connection chores). The addresses and event
 * loops are in {@code netty}, in the proto module, which the simulator and the bench share.
 *
 * <p>Nothing here knows the AiInference service, authentication or quotas: it depends on
 * grpc-api, Netty and the JDK only, which {@code TransportDependenciesTest} checks.
 */
package io.cy.coordinator.transport;
