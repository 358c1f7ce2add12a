/**
 * The load generator: closed-loop and open-loop (fixed arrival rate) runs of StreamPredict over
 * grpc-java, or of streamed chat completions over HTTP/1.1 with server-sent events; every
 * response stream checked, latencies in HdrHistogram.
 */
package io.cy.bench.load;
