"""The waiting requests in grant order: priority class, then weighted fair share of users, then of runs.

Each priority class keeps a heap of its users keyed by virtual time (usage
divided by weight: a grant of dominant share ``c`` advances its user's virtual
time by ``c / weight``); each user keeps a heap of its requests keyed by a
start tag fair between its runs (start-time fair queueing: a request starts
at ``max(user's run clock, its run's last finish)`` and its run's finish moves
on by its cost).  Only the granted user's key changes on a grant, so a
decision is ``O(log n)`` and iterating in order costs per item visited, never
a rescan of every waiter.  Entries are removed lazily and compacted when most
of a heap is dead, so memory is bounded by the live waiters.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from symphony.hookspecs.ports import ResourceRequest

if TYPE_CHECKING:  # every command imports this plugin; only a wait needs an event loop
    import asyncio

__all__ = ["FairQueue", "Waiter"]

WAITING: Final = 0
GRANTED: Final = 1
GONE: Final = 2  # withdrawn, timed out or cancelled
#: Idle users remembered per priority class for their fair-share lead (see ``FairQueue._prune``).
MAX_IDLE_USERS: Final = 4096
#: Beyond this many priority classes, one with nobody waiting is forgotten whole at the next prune.
MAX_IDLE_CLASSES: Final = 64


class Waiter:
    """One waiting request and its bookkeeping."""

    __slots__ = (
        "asked_preemption",
        "cost",
        "future",
        "need",
        "on_preempt",
        "passed",
        "request",
        "seq",
        "since",
        "state",
        "tag",
        "timer",
        "user",
    )

    def __init__(
        self,
        request: ResourceRequest,
        need: dict[str, float],
        cost: float,
        since: float,
        on_preempt: Callable[[], None] | None,
    ) -> None:
        self.request = request
        self.need = need
        self.cost = cost
        self.since = since
        self.on_preempt = on_preempt
        self.seq = 0
        self.tag = 0.0
        self.state = WAITING
        #: Grants given to requests behind it while it was blocked (it is reserved for after ``reserve_after``).
        self.passed = 0
        self.asked_preemption = False
        self.future: asyncio.Future[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.user: _ClassUser | None = None


class _ClassUser:
    """One user within one priority class: its virtual time and its requests."""

    __slots__ = ("entry", "live", "name", "queue", "run_clock", "run_finish", "vtime", "weight")

    def __init__(self, name: str, weight: float, vtime: float) -> None:
        self.name = name
        self.weight = weight
        self.vtime = vtime
        self.queue: list[tuple[float, int, Waiter]] = []
        self.live = 0
        self.entry = -1  # seq of its current entry in the class heap (older entries are dead)
        self.run_clock = 0.0
        self.run_finish: dict[str, float] = {}


class _Class:
    """A priority class: its users by virtual time."""

    __slots__ = ("live_users", "now", "priority", "users", "users_heap")

    def __init__(self, priority: int) -> None:
        self.priority = priority
        self.users: dict[str, _ClassUser] = {}
        self.users_heap: list[tuple[float, int, _ClassUser]] = []
        self.live_users = 0
        #: Virtual time of the last grant in this class: a user that becomes active starts no earlier.
        self.now = 0.0


def _ordered(heap: list[Any]) -> Iterator[Any]:
    """The heap's items in order without popping them (a best-first walk of its array)."""
    if not heap:
        return
    frontier = [(heap[0], 0)]
    size = len(heap)
    while frontier:
        item, index = heapq.heappop(frontier)
        yield item
        child = 2 * index + 1
        if child < size:
            heapq.heappush(frontier, (heap[child], child))
            if child + 1 < size:
                heapq.heappush(frontier, (heap[child + 1], child + 1))


class FairQueue:
    """Waiting requests; iterate it for grant order, ``grant``/``remove`` to take one out."""

    def __init__(self, weights: dict[str, float]) -> None:
        self._weights = weights
        self._classes: dict[int, _Class] = {}
        self._order: list[_Class] = []  # classes by priority, highest first
        self._seq = itertools.count()
        self._grants = 0
        self.live = 0

    def __len__(self) -> int:
        return self.live

    def push(self, waiter: Waiter) -> None:
        request = waiter.request
        cls = self._classes.get(request.priority)
        if cls is None:
            cls = self._classes[request.priority] = _Class(request.priority)
            self._order = sorted(self._classes.values(), key=lambda c: -c.priority)
        user = self._user(cls, request.user)
        start = max(user.run_clock, user.run_finish.get(request.run_id, 0.0))
        user.run_finish[request.run_id] = start + waiter.cost
        waiter.seq = next(self._seq)
        waiter.tag = start
        waiter.user = user
        heapq.heappush(user.queue, (start, waiter.seq, waiter))
        user.live += 1
        self.live += 1
        if user.live == 1:
            user.vtime = max(user.vtime, cls.now)
            cls.live_users += 1
            self._enter(cls, user)

    def charge(self, request: ResourceRequest, cost: float) -> None:
        """Count a grant made without queueing against its user's share."""
        cls = self._classes.get(request.priority)
        if cls is None:
            cls = self._classes[request.priority] = _Class(request.priority)
            self._order = sorted(self._classes.values(), key=lambda c: -c.priority)
        user = self._user(cls, request.user)
        user.vtime = max(user.vtime, cls.now)
        self._advance(cls, user, cost, user.vtime)

    def grant(self, waiter: Waiter) -> None:
        """Take a granted waiter out and charge its user and run."""
        user = waiter.user
        assert user is not None
        cls = self._classes[waiter.request.priority]
        start = user.vtime
        self._take(cls, user, waiter, GRANTED)
        user.run_clock = max(user.run_clock, waiter.tag)
        self._advance(cls, user, waiter.cost, start)

    def remove(self, waiter: Waiter) -> None:
        """Withdraw a waiter (cancelled or timed out); nothing is charged."""
        user = waiter.user
        assert user is not None
        self._take(self._classes[waiter.request.priority], user, waiter, GONE)

    def head(self) -> Waiter | None:
        """The first waiter in grant order, without walking (dead entries never stay on top of a heap)."""
        for cls in self._order:
            if cls.live_users:
                return cls.users_heap[0][2].queue[0][2]
        return None

    def __iter__(self) -> Iterator[Waiter]:
        for cls in self._order:
            if not cls.live_users:
                continue
            for _vtime, entry, user in _ordered(cls.users_heap):
                if entry != user.entry or not user.live:
                    continue
                for _tag, _seq, waiter in _ordered(user.queue):
                    if waiter.state == WAITING:
                        yield waiter

    def _user(self, cls: _Class, name: str) -> _ClassUser:
        user = cls.users.get(name)
        if user is None:
            user = cls.users[name] = _ClassUser(name, self._weights.get(name, 1.0), cls.now)
        return user

    def _enter(self, cls: _Class, user: _ClassUser) -> None:
        old = user.entry
        user.entry = next(self._seq)
        heap = cls.users_heap
        if heap and heap[0][2] is user and heap[0][1] == old:  # the granted user was first: re-key it in one step
            heapq.heapreplace(heap, (user.vtime, user.entry, user))
        else:
            heapq.heappush(heap, (user.vtime, user.entry, user))
        self._trim(cls)
        if len(cls.users_heap) > 2 * cls.live_users + 16:
            cls.users_heap = [item for item in cls.users_heap if item[1] == item[2].entry and item[2].live]
            heapq.heapify(cls.users_heap)

    @staticmethod
    def _trim(group: _Class) -> None:
        """Pop dead entries off the top (a re-keyed user's old entry has the smaller key, so it is usually there)."""
        heap = group.users_heap
        while heap and (heap[0][1] != heap[0][2].entry or not heap[0][2].live):
            heapq.heappop(heap)

    def _take(self, cls: _Class, user: _ClassUser, waiter: Waiter, state: int) -> None:
        waiter.state = state
        user.live -= 1
        self.live -= 1
        queue = user.queue
        while queue and queue[0][2].state != WAITING:
            heapq.heappop(queue)
        if len(queue) > 2 * user.live + 16:
            user.queue = [item for item in queue if item[2].state == WAITING]
            heapq.heapify(user.queue)
        if not user.live:
            cls.live_users -= 1
            user.run_finish.clear()  # a run's tags matter only while its user waits
            self._trim(cls)

    def _advance(self, cls: _Class, user: _ClassUser, cost: float, start: float) -> None:
        cls.now = max(cls.now, start)
        user.vtime += cost / user.weight
        if user.live:
            self._enter(cls, user)
        self._grants += 1
        if self._grants % 1024 == 0:
            self._prune()

    def _prune(self) -> None:
        """Forget idle users with no usage ahead of their class (their state would be reset on return anyway).

        Idle users still ahead are kept up to ``MAX_IDLE_USERS`` per class, those furthest ahead first, and
        idle classes beyond ``MAX_IDLE_CLASSES``, so a stream of one-off user names or priorities cannot grow
        memory without bound (what is forgotten loses only its lead).
        """
        for priority, cls in list(self._classes.items()):
            idle = [user for user in cls.users.values() if not user.live]
            ahead = [user for user in idle if user.vtime > cls.now]
            forget = [user for user in idle if user.vtime <= cls.now]
            if len(ahead) > MAX_IDLE_USERS:
                ahead.sort(key=lambda user: user.vtime)
                forget += ahead[: len(ahead) - MAX_IDLE_USERS]
            for user in forget:
                del cls.users[user.name]
            if not cls.users or (not cls.live_users and len(self._classes) > MAX_IDLE_CLASSES):
                del self._classes[priority]
        self._order = sorted(self._classes.values(), key=lambda c: -c.priority)
