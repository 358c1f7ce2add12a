package io.cy.bridge.internal;

import static java.util.Objects.requireNonNull;

import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.Executor;

/**
 * Where one upstream call's callbacks run: on the HTTP connection's event loop, at once when they
 * come from that loop already, else queued to it. The coordinator in the same process forwards a call on
 * the event loop that started it, so every message of such a call arrives on the connection's own
 * loop: queuing it there would cost a task (and the cold code around it) per token for nothing.
 *
 * <p>gRPC serialises a call's callbacks on top of this executor, so one that arrives while
 * another runs (a message delivered from inside {@code request(1)}) waits its turn.
 */
final class CallbackExecutor implements Executor {

    private final EventExecutor loop;
    /** Set on the loop; read only on it. */
    private boolean inline;

    CallbackExecutor(EventExecutor loop) {
        this.loop = requireNonNull(loop, "loop");
    }

    /**
     * From now on, callbacks arriving on the loop run at once. Until then they queue: a call
     * inside the process may end (a refusal) from inside {@code start()}, before the caller is done
     * starting it.
     */
    void runInline() {
        inline = true;
    }

    @Override
    public void execute(Runnable task) {
        if (loop.inEventLoop() && inline) {
            task.run();
        } else {
            loop.execute(task);
        }
    }
}
