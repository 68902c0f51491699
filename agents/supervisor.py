"""Agents that cannot die silently: every crash counted, the worker unready, a crash loop fatal.

Faust restarts a crashed agent and carries on, which once left a worker running for
hours without its team rule and with nothing to show for it. Here a batch the agent
cannot finish is a crash: counted in `casewatch_agent_crashes_total{agent}`, the worker
marked unready (`casewatch_worker_ready` 0, /readyz 503: `unready` says why) and the same batch tried again after a
pause; its offsets stay uncommitted meanwhile. Too many crashes in a short time stop the
process with one line saying why and a non-zero exit, so that whatever runs the worker
sees it, rather than a worker running on without a rule.
"""

import asyncio
import itertools
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable

from casewatch.metrics import Metrics

log = logging.getLogger("casewatch.worker")

CRASH_LOOP_CRASHES = 5
CRASH_LOOP_SECONDS = 60.0
MAX_RETRY_PAUSE_SECONDS = 8.0
EXIT_CRASH_LOOP = 3


def _exit_now(code: int) -> None:
    """Leave at once. A graceful stop would close the batch being retried, and Faust acks
    (then commits) a batch when its generator closes: that would lose it."""
    logging.shutdown()
    os._exit(code)


class Supervisor:
    """One worker's view of its agents: which are down, how often they crashed."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        crashes: int = CRASH_LOOP_CRASHES,
        seconds: float = CRASH_LOOP_SECONDS,
        stop: Callable[[int], None] = _exit_now,
        holds_inputs: bool = True,
    ) -> None:
        """`holds_inputs`: a worker whose agents need input partitions to be of use (a store
        process has consumers of its own groups, and is ready without them)."""
        self.metrics, self.limit, self.seconds, self.stop = metrics, crashes, seconds, stop
        self.holds_inputs = holds_inputs
        self.started = False
        self.partitions = 0  # input partitions held since the last rebalance
        self.down: set[str] = set()
        self._recent: deque[float] = deque()
        self._show()

    def start(self) -> None:
        """The worker has recovered its tables and its agents are running."""
        self.started = True
        self._show()

    def assigned(self, partitions: int) -> None:
        """A rebalance has given this worker `partitions` input partitions (perhaps none)."""
        self.metrics.rebalances.inc()
        self.partitions = partitions
        self._show()

    def unready(self) -> str | None:
        """Why the worker is not ready, or None: /readyz and `casewatch_worker_ready` both say this."""
        if not self.started:
            return "recovering its tables" if self.holds_inputs else "starting its consumers"
        if self.holds_inputs and not self.partitions:
            return "no input partitions assigned"
        if self.down:
            return f"agent crashing: {', '.join(sorted(self.down))}"
        return None

    def crashed(self, agent: str, error: BaseException) -> None:
        self.metrics.agent_crashes.labels(agent=agent).inc()
        self.down.add(agent)
        self._show()
        now = time.monotonic()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - self.seconds:
            self._recent.popleft()
        log.error("agent %s crashed: %s: %s", agent, type(error).__name__, error, exc_info=error)
        if len(self._recent) >= self.limit:
            line = (
                f"casewatch worker: {len(self._recent)} agent crashes within {self.seconds:.0f}s, the last in "
                f"{agent} ({type(error).__name__}): stopping rather than running without a rule"
            )
            log.critical(line)
            print(line, file=sys.stderr, flush=True)
            self.stop(EXIT_CRASH_LOOP)

    def recovered(self, agent: str) -> None:
        if agent in self.down:
            self.down.discard(agent)
            log.warning("agent %s is working again", agent)
            self._show()

    async def until_done(self, agent: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run one batch until it has been applied; each failure is a crash, then a retry."""
        for attempt in itertools.count():
            try:
                await work()
            except Exception as error:  # every failure of a batch, whatever it is, is counted
                self.crashed(agent, error)
                await asyncio.sleep(min(MAX_RETRY_PAUSE_SECONDS, 0.5 * 2**attempt))
            else:
                self.recovered(agent)
                return

    def _show(self) -> None:
        self.metrics.worker_ready.set(0 if self.unready() else 1)
