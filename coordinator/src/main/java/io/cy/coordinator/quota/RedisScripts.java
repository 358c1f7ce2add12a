package io.cy.coordinator.quota;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The Lua scripts that keep a tenant's budgets in Redis. Each runs atomically on the server with
 * the server's clock, so replicas need not agree on the time, and each is one round trip: the
 * buckets and the concurrency slots of a tenant are checked and taken together, all or nothing.
 *
 * <p>A bucket is a hash {@code tokens} (may be negative after a limit was lowered), {@code ts} (ms
 * of its last update) and {@code cap}; it refills {@code rate} per {@code period} ms up to
 * {@code cap}, greedily, as Bucket4j's {@code refillGreedy} does in {@link LocalQuotaStore}. A
 * changed {@code cap} keeps the usage ({@code cap - tokens}). A missing bucket is full. Concurrency
 * is a sorted set of the calls in flight, scored with the end of their lease.
 */
final class RedisScripts {

    private static final String PRELUDE = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local function level(key, cap, rate, period)
              local h = redis.call('HMGET', key, 'tokens', 'ts', 'cap')
              if not h[1] then return cap end
              local tokens = tonumber(h[1]) + cap - tonumber(h[3])
              local elapsed = now - tonumber(h[2])
              if elapsed > 0 then tokens = tokens + elapsed * rate / period end
              return math.min(cap, tokens)
            end
            local function store(key, tokens, cap, rate, period)
              redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', now, 'cap', cap)
              redis.call('PEXPIRE', key, math.ceil((cap - tokens) * period / rate) + 1000)
            end
            """;

    /**
     * KEYS: requests, tokens/min, tokens/day buckets, slots. ARGV: member, lease ms, concurrent
     * (-1: none), then per bucket cap (-1: none), rate, period ms, cost. Returns {0} when admitted,
     * else {1, streams open} or {bucket + 1, used, ms until it fits}.
     */
    static final Script ADMIT = new Script(PRELUDE + """
            local concurrent = tonumber(ARGV[3])
            if concurrent >= 0 then
              redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
              local open = redis.call('ZCARD', KEYS[4])
              if open >= concurrent then return {1, open, 0} end
            end
            local after = {}
            for i = 1, 3 do
              local b = 4 + (i - 1) * 4
              local cap = tonumber(ARGV[b])
              if cap >= 0 then
                local rate, period, cost = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
                local tokens = level(KEYS[i], cap, rate, period)
                if tokens < cost then
                  return {i + 1, math.floor(cap - tokens), math.ceil((cost - tokens) * period / rate)}
                end
                after[i] = tokens - cost
              end
            end
            for i = 1, 3 do
              if after[i] then
                local b = 4 + (i - 1) * 4
                store(KEYS[i], after[i], tonumber(ARGV[b]), tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]))
              end
            end
            if concurrent >= 0 then
              local lease = tonumber(ARGV[2])
              redis.call('ZADD', KEYS[4], now + lease, ARGV[1])
              redis.call('PEXPIRE', KEYS[4], lease * 2)
            end
            return {0}
            """);

    /**
     * KEYS: tokens/min, tokens/day buckets, slots. ARGV: member, tokens to give back, then per
     * bucket cap (-1: none), rate, period ms. Frees the slot, refunds what was reserved and unused.
     */
    static final Script SETTLE = new Script(PRELUDE + """
            redis.call('ZREM', KEYS[3], ARGV[1])
            local unused = tonumber(ARGV[2])
            if unused > 0 then
              for i = 1, 2 do
                local b = 3 + (i - 1) * 3
                local cap = tonumber(ARGV[b])
                if cap >= 0 and redis.call('EXISTS', KEYS[i]) == 1 then
                  local rate, period = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
                  store(KEYS[i], math.min(cap, level(KEYS[i], cap, rate, period) + unused), cap, rate, period)
                end
              end
            end
            return 0
            """);

    /**
     * KEYS: slots. ARGV: lease ms, members. Extends the lease of this replica's calls in flight,
     * and puts them back after Redis lost them (a restart).
     */
    static final Script HEARTBEAT = new Script(PRELUDE + """
            local lease = tonumber(ARGV[1])
            for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + lease, ARGV[i]) end
            redis.call('PEXPIRE', KEYS[1], lease * 2)
            return 0
            """);

    /**
     * KEYS: the three buckets, slots. ARGV: per bucket cap (-1: none), rate, period ms. Returns
     * {streams open, then each bucket's used tokens}.
     */
    static final Script USAGE = new Script(PRELUDE + """
            local out = {redis.call('ZCOUNT', KEYS[4], '(' .. now, '+inf')}
            for i = 1, 3 do
              local b = 1 + (i - 1) * 3
              local cap = tonumber(ARGV[b])
              if cap >= 0 then
                out[i + 1] = math.max(0, math.floor(cap - level(KEYS[i], cap, tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]))))
              else
                out[i + 1] = 0
              end
            end
            return out
            """);

    /** A script and its SHA-1, the name Redis knows it by. */
    record Script(String text, String sha) {
        Script(String text) {
            this(text, sha1(text));
        }
    }

    private RedisScripts() {
    }

    /**
     * Runs {@code script} by its digest, sending its text only when the server does not know it
     * yet (the first time, or after a restart).
     */
    static CompletableFuture<Object> run(RedisClusterAsyncCommands<String, String> redis, Script script,
                                         List<String> keys, List<String> args) {
        final String[] k = keys.toArray(String[]::new);
        final String[] a = args.toArray(String[]::new);
        return redis.<Object>evalsha(script.sha(), ScriptOutputType.MULTI, k, a).toCompletableFuture()
                .exceptionallyCompose(e -> unwrap(e) instanceof RedisNoScriptException
                        ? redis.<Object>eval(script.text(), ScriptOutputType.MULTI, k, a).toCompletableFuture()
                        : CompletableFuture.failedFuture(unwrap(e)));
    }

    private static Throwable unwrap(Throwable e) {
        return e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    private static String sha1(String script) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JDK", e);
        }
    }
}
