package io.cy.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DbUrlTest {

    @Test
    void integrationGuideForm() {
        final DbUrl url = DbUrl.parse("postgresql://cy:s%40cret+1@db.example.com:5433/audit?sslmode=require");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://db.example.com:5433/audit?sslmode=require");
        assertThat(url.user()).isEqualTo("cy");
        assertThat(url.password()).isEqualTo("s@cret+1");
    }

    @Test
    void postgresSchemeDefaultPortNoPassword() {
        final DbUrl url = DbUrl.parse("postgres://cy@localhost/cy");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost/cy");
        assertThat(url.user()).isEqualTo("cy");
        assertThat(url.password()).isNull();
    }

    @Test
    void severalHostsIpv6AndLibpqParameters() {
        final DbUrl url = DbUrl.parse(
                "postgresql://u:p@[::1]:5432,db2:5433/x?connect_timeout=3&application_name=cy&target_session_attrs=any");
        assertThat(url.jdbcUrl()).isEqualTo(
                "jdbc:postgresql://[::1]:5432,db2:5433/x?connectTimeout=3&ApplicationName=cy&target_session_attrs=any");
    }

    @Test
    void userAndPasswordInQueryAreTakenOut() {
        final DbUrl url = DbUrl.parse("jdbc:postgresql://h:5432/db?user=cy&password=pw&ssl=true");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://h:5432/db?ssl=true");
        assertThat(url.user()).isEqualTo("cy");
        assertThat(url.password()).isEqualTo("pw");
        assertThat(url.redacted()).doesNotContain("pw").contains("password=***");
        assertThat(url.toString()).isEqualTo(url.redacted());
    }

    @Test
    void jdbcFormPassesThrough() {
        final DbUrl url = DbUrl.parse("jdbc:postgresql://localhost:5432/test");
        assertThat(url.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:5432/test");
        assertThat(url.user()).isNull();
    }

    @Test
    void invalidUrlsNameTheProblemWithoutThePassword() {
        assertThatThrownBy(() -> DbUrl.parse("mysql://u:hunter2@h/db"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("DB_URL: unsupported scheme 'mysql'")
                .message().doesNotContain("hunter2");
        assertThatThrownBy(() -> DbUrl.parse("postgresql://u:hunter2@h:54x2/db"))
                .hasMessageStartingWith("DB_URL: port is not a number (expected: 1-65535)")
                .message().doesNotContain("hunter2");
        assertThatThrownBy(() -> DbUrl.parse("postgresql://u:hunter2@/db"))
                .hasMessageStartingWith("DB_URL: no host")
                .message().doesNotContain("hunter2");
        assertThatThrownBy(() -> DbUrl.parse("postgresql://u:hunter2@h:70000/db"))
                .hasMessageStartingWith("DB_URL: port out of range (expected: 1-65535)");
        // Without '@host' the text after the user's colon reads as a port: it is the password.
        assertThatThrownBy(() -> DbUrl.parse("postgresql://admin:s3cret/db"))
                .hasMessageStartingWith("DB_URL: port is not a number")
                .message().doesNotContain("s3cret");
        assertThatThrownBy(() -> DbUrl.parse("postgresql://u:pa/ss@host/db"))
                .message().doesNotContain("pa/ss").doesNotContain("'pa'");
        assertThatThrownBy(() -> DbUrl.parse("postgresql://admin:123456/db"))
                .hasMessageStartingWith("DB_URL: port out of range")
                .message().doesNotContain("123456");
        assertThatThrownBy(() -> DbUrl.parse("postgresql://u:hunt%zzer2@h/db"))
                .hasMessageStartingWith("DB_URL: bad percent-encoding in password")
                .message().doesNotContain("hunt");
        assertThatThrownBy(() -> DbUrl.parse(" "))
                .hasMessageStartingWith("DB_URL: empty");
        assertThatThrownBy(() -> DbUrl.parse("localhost:5432"))
                .hasMessageStartingWith("DB_URL: no scheme");
    }
}
