/**
 * How the bridge works inside; not an API. A connection's {@code BridgeHandler} hands each request
 * to {@code Routes}, which parses it ({@code RequestParser}, {@code ChatTemplate}) and starts a
 * {@code CompletionCall} on the {@code Upstream}; answers leave through the request's
 * {@code Exchange}, errors as {@code HttpError}s, upstream statuses mapped by {@code HttpStatuses}.
 */
package io.cy.bridge.internal;
