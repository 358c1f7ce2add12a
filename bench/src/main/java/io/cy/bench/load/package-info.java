/**
 * The StreamPredict load generator: closed-loop and open-loop (fixed arrival rate) runs over
 * grpc-java, every response stream checked, latencies in HdrHistogram.
 */
package io.cy.bench.load;
