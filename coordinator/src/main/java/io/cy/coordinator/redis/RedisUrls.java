package io.cy.coordinator.redis;

import io.cy.coordinator.config.ConfigException;
import io.lettuce.core.RedisURI;
import java.util.ArrayList;
import java.util.List;

/**
 * Lettuce URIs from a setting: one ({@code redis://}, {@code rediss://}, {@code redis-sentinel://}),
 * or the seeds of a Redis Cluster written as several hosts, {@code redis://h1:6379,h2:6379}.
 */
public final class RedisUrls {

    private static final String EXPECTED =
            "redis://host:6379/0, rediss://..., redis-sentinel://host:26379/0#master or redis://h1:6379,h2:6379";

    private RedisUrls() {
    }

    /** Stops startup with an error naming {@code path} when {@code url} is not one Lettuce takes. */
    public static void check(String url, String path) {
        try {
            parse(url);
        } catch (IllegalArgumentException e) {
            // The URL may hold a password: the message names the setting, not its value.
            throw new ConfigException(path, "not a Redis URL (expected: " + EXPECTED + ")");
        }
    }

    public static List<RedisURI> parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("empty");
        }
        final int scheme = url.indexOf("://");
        final String name = scheme < 0 ? "" : url.substring(0, scheme);
        if (!name.equals("redis") && !name.equals("rediss")) {
            return List.of(RedisURI.create(url));
        }
        final int hostsStart = url.indexOf('@', scheme) >= 0 ? url.indexOf('@', scheme) + 1 : scheme + 3;
        int hostsEnd = url.indexOf('/', hostsStart);
        hostsEnd = hostsEnd < 0 ? url.length() : hostsEnd;
        final String hosts = url.substring(hostsStart, hostsEnd);
        if (!hosts.contains(",")) {
            return List.of(RedisURI.create(url));
        }
        final List<RedisURI> seeds = new ArrayList<>();
        for (String host : hosts.split(",")) {
            seeds.add(RedisURI.create(url.substring(0, hostsStart) + host.strip() + url.substring(hostsEnd)));
        }
        return List.copyOf(seeds);
    }

    /** Where {@code url} points, for logs: hosts and database, never the credentials. */
    public static String describe(List<RedisURI> uris) {
        final List<String> hosts = new ArrayList<>();
        for (RedisURI uri : uris) {
            if (uri.getHost() != null) {
                hosts.add(uri.getHost() + ":" + uri.getPort());
            }
            uri.getSentinels().forEach(s -> hosts.add(s.getHost() + ":" + s.getPort()));
        }
        return String.join(",", hosts);
    }
}
