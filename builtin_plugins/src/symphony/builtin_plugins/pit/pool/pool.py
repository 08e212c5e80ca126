"""The pool: hands out hot models, warms the cold ones in a bounded queue, cools the idle and the least used.

Each model is a :class:`~.state.Lifecycle` plus slots, one per instance; a
slot holds a worker and survives it: when the worker dies the slot's holders
keep their handles and the slot is warmed again, so a crash costs the calls in
flight, not the handles.  The hit path of ``allocate`` (a hot model with a
free slot) never suspends and takes no lock: a dict lookup, a counter and a
handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from symphony.hookspecs import (
    Event,
    ModelId,
    ModelSpec,
    ModelUnavailableError,
    NotFoundError,
    PortUnavailableError,
    ValidationError,
)
from symphony.hookspecs.ports import (
    ArbitrationEnginePort,
    ModelHandle,
    ModelState,
    ModelStatus,
    PoolStatus,
    ResourceGrant,
    ResourceRequest,
)

from .cli_paths import unload_requests
from .options import PoolOptions
from .predictor import HistoryPredictor
from .process import Worker, worker_env
from .snapshot import SnapshotWriter
from .state import Lifecycle

__all__ = ["Pool"]

log = logging.getLogger("symphony.pool")

Arbitration = Callable[[], ArbitrationEnginePort | None]


class _Slot:
    """One instance of a model: its current worker (None while it is replaced) and how many handles hold it."""

    __slots__ = ("holders", "ready", "worker")

    def __init__(self, worker: Worker | None = None) -> None:
        self.worker = worker
        self.holders = 0
        #: Set while the slot's worker starts; done (or failed) when it is ready.
        self.ready: asyncio.Future[None] | None = None


class _Model:
    """Everything the pool knows of one model."""

    def __init__(self, spec: ModelSpec, lifecycle: Lifecycle) -> None:
        self.spec = spec
        self.lifecycle = lifecycle
        self.exclusive = spec.sharing == "exclusive"
        self.slots: list[_Slot] = []
        self.holders = 0
        #: Allocations waiting for this model to warm or for an exclusive slot: it must not be evicted meanwhile.
        self.pending = 0
        self.waiters: deque[asyncio.Future[_Slot]] = deque()
        self.warmed: asyncio.Future[None] | None = None
        self.cooled: asyncio.Future[None] | None = None
        self.grant: ResourceGrant | None = None
        self.last_used: float | None = None
        self.cold_starts = 0
        self.prewarms = 0
        #: Warm started by prediction and not yet allocated: its first allocation is a prewarm hit.
        self.predicted = False
        self.unload_requested = False
        self.error: str | None = None
        self.rss = 0
        self.load_seconds: float | None = None
        #: RSS the last time it was hot, to judge whether a predicted warm-up fits the budget.
        self.last_rss = 0

    def free_slot(self) -> _Slot | None:
        slots = self.slots
        if not self.exclusive:
            if len(slots) == 1:
                return slots[0]
            return min(slots, key=lambda slot: slot.holders) if slots else None
        if self.waiters:
            return None  # exclusive waiters are served in order: no overtaking
        for slot in slots:
            if slot.holders == 0:
                return slot
        return None


class _Lease:
    __slots__ = ("handle", "model", "slot")

    def __init__(self, model: _Model, slot: _Slot, handle: ModelHandle) -> None:
        self.model = model
        self.slot = slot
        self.handle = handle


class Pool:
    """The builtin PoolManagerPort: models in worker processes, an LRU of hot ones under count and memory bounds."""

    def __init__(
        self,
        specs: Mapping[str, ModelSpec],
        options: PoolOptions | None = None,
        *,
        emit: Callable[[Event], None] | None = None,
        arbitration: Arbitration | None = None,
        snapshot: SnapshotWriter | None = None,
    ) -> None:
        self.options = options or PoolOptions()
        self._budget = self.options.budget_bytes
        self._emit_event = emit or (lambda event: None)
        self._arbitration_of = arbitration
        self._arbitration: ArbitrationEnginePort | None = None
        self.snapshot = snapshot
        self._models = {name: _Model(spec, Lifecycle(name, self._emit)) for name, spec in specs.items()}
        #: Hot models, least recently used first.
        self._lru: OrderedDict[str, _Model] = OrderedDict()
        self._leases: dict[str, _Lease] = {}
        self._ids = itertools.count(1)
        self._warm_slots = asyncio.Semaphore(self.options.warm_concurrency)
        self._predictor = HistoryPredictor(window=10 * self.options.idle_timeout)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._env: dict[str, str] | None = None
        self._closed = False
        self._rss_total = 0
        self._allocations = self._hits = self._cold_starts = self._prewarm_hits = 0
        self._predictions = self._evictions = self._failures = 0
        #: Allocations counted when the snapshot was last asked for (hits change no state, so the health round
        #: writes them).
        self._allocations_shown = 0
        #: Whether anything ever changed here (a pool only looked at must not overwrite a live host's snapshot).
        self._used = False

    # -- the port ---------------------------------------------------------------------------------

    async def allocate(self, model_id: str) -> ModelHandle:
        model = self._models.get(model_id)
        if model is None:
            raise self._unknown(model_id)
        self._allocations += 1
        if model.lifecycle.state == "hot":
            slot = model.free_slot()
            if slot is not None:
                self._hits += 1
                if model.predicted:
                    model.predicted = False
                    self._prewarm_hits += 1
                return self._lease(model, slot)
        return await self._allocate_slow(model)

    async def release(self, handle: ModelHandle) -> None:
        lease = self._leases.pop(handle.handle_id, None)
        if lease is None or lease.handle.model_id != handle.model_id:
            raise ValidationError(
                f"handle {handle.handle_id!r} of model {handle.model_id!r} is not held: it was already released"
                " or not given out by this pool"
            )
        model, slot = lease.model, lease.slot
        slot.holders -= 1
        model.holders -= 1
        model.last_used = time.time()
        if model.exclusive and slot.holders == 0:
            self._hand_over(model, slot)
        if model.holders == 0:
            if model.unload_requested and model.lifecycle.state == "hot":
                self._cool(model, "unloaded")
            elif self._over_budget():
                self._fit()

    @contextlib.asynccontextmanager
    async def use(self, model_id: str) -> AsyncIterator[ModelHandle]:
        handle = await self.allocate(model_id)
        try:
            yield handle
        finally:
            await self.release(handle)

    async def call(self, handle: ModelHandle, method: str, payload: Any = None) -> Any:
        lease = self._leases.get(handle.handle_id)
        if lease is None or lease.handle.model_id != handle.model_id:
            raise ValidationError(
                f"handle {handle.handle_id!r} of model {handle.model_id!r} is not held: allocate the model first"
            )
        model, slot = lease.model, lease.slot
        model.last_used = time.time()
        worker = slot.worker
        if worker is None:  # dead and being replaced (wait for it), or gone with a cooled model
            if slot.ready is None:
                raise ModelUnavailableError(
                    f"model {model.spec.name!r} is unavailable: {model.error or 'its worker is gone'}; release the"
                    " handle and allocate the model again"
                )
            await asyncio.shield(slot.ready)
            worker = slot.worker
            assert worker is not None
        return await worker.call(method, payload)

    async def prewarm(self, model_id: str, reason: str = "") -> None:
        model = self._models.get(model_id)
        if model is None:
            raise self._unknown(model_id)
        self._predict(model, reason or "prewarm")

    async def unload(self, model_id: str) -> None:
        model = self._models.get(model_id)
        if model is None:
            raise self._unknown(model_id)
        self._predictor.forget(model_id)
        state = model.lifecycle.state
        if state == "warming" and model.warmed is not None:
            model.unload_requested = True
            with contextlib.suppress(ModelUnavailableError):
                await asyncio.shield(model.warmed)
            state = model.lifecycle.state
        if state == "hot":
            if model.holders:
                model.unload_requested = True  # cooled by the last release
                return
            self._cool(model, "unloaded")
        if model.lifecycle.state == "cooling" and model.cooled is not None:
            await asyncio.shield(model.cooled)

    async def state(self, model_id: str) -> ModelState:
        model = self._models.get(model_id)
        if model is None:
            raise self._unknown(model_id)
        return model.lifecycle.state

    def status(self) -> PoolStatus:
        return PoolStatus(
            models=[self._model_status(model) for model in self._models.values()],
            memory_budget=self._budget,
            max_hot=self.options.max_hot,
            allocations=self._allocations,
            hits=self._hits,
            cold_starts=self._cold_starts,
            prewarm_hits=self._prewarm_hits,
            predictions=self._predictions,
            evictions=self._evictions,
            failures=self._failures,
        )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for model in self._models.values():
            for waiter in model.waiters:
                if not waiter.done():
                    waiter.set_exception(ModelUnavailableError(f"model {model.spec.name!r}: the pool closed"))
            if model.lifecycle.state == "hot":
                self._cool(model, "the pool closed")
        for task in list(self._tasks):
            if not task.get_name().startswith("pool-cool"):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.snapshot is not None:
            self.snapshot.write(closed=True)

    # -- what the CLI and the component use --------------------------------------------------------

    @property
    def models(self) -> list[str]:
        return sorted(self._models)

    def write_last_snapshot(self) -> None:
        """The final counters of a pool nobody closed (a one-shot command's, at interpreter exit), marked closed."""
        if not self._closed and self.snapshot is not None and (self._used or self._allocations):
            self.snapshot.write(closed=True)

    def detach_snapshot(self) -> None:
        """Stop writing the status snapshot: a CLI check must not overwrite a live host's pool status."""
        self.snapshot = None

    def rss_of(self, model_id: str) -> int:
        return self._models[model_id].rss

    # -- allocation ---------------------------------------------------------------------------------

    def _lease(self, model: _Model, slot: _Slot) -> ModelHandle:
        name = model.spec.name
        handle = ModelHandle(model_id=ModelId(name), handle_id=f"{name}#{next(self._ids)}", state="hot")
        slot.holders += 1
        model.holders += 1
        now = time.time()
        model.last_used = now
        self._lru.move_to_end(name)
        self._predictor.used(name, now)
        self._leases[handle.handle_id] = _Lease(model, slot, handle)
        return handle

    async def _allocate_slow(self, model: _Model) -> ModelHandle:
        if self._closed:
            raise ModelUnavailableError(f"model {model.spec.name!r}: the pool is closed")
        model.pending += 1
        try:
            state = model.lifecycle.state
            if state == "hot":
                self._hits += 1
            elif state == "warming" and model.predicted:
                self._prewarm_hits += 1
            else:
                self._cold_starts += 1
                model.cold_starts += 1
            model.predicted = False
            while True:
                await self._hot(model, "allocated")
                slot = model.free_slot()
                if slot is not None:
                    return self._lease(model, slot)
                if model.exclusive and len(model.slots) < model.spec.instances:
                    slot = self._add_slot(model)
                    model.slots.append(slot)
                    slot.holders += 1  # reserved for us while it warms
                    try:
                        await asyncio.shield(slot.ready)  # type: ignore[arg-type]
                    except ModelUnavailableError:
                        if slot.worker is None and slot in model.slots:
                            model.slots.remove(slot)
                        raise
                    finally:
                        slot.holders -= 1
                    return self._lease(model, slot)
                waiter: asyncio.Future[_Slot] = asyncio.get_running_loop().create_future()
                model.waiters.append(waiter)
                try:
                    slot = await waiter
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        self._hand_over(model, waiter.result())
                    else:
                        model.waiters.remove(waiter)
                    raise
                slot.holders -= 1  # _hand_over reserved it; _lease counts it again
                return self._lease(model, slot)
        finally:
            model.pending -= 1

    def _hand_over(self, model: _Model, slot: _Slot) -> None:
        """Give a freed exclusive slot to the first waiter, reserving it until the waiter runs."""
        while model.waiters:
            waiter = model.waiters.popleft()
            if not waiter.done():
                slot.holders += 1
                waiter.set_result(slot)
                return

    async def _hot(self, model: _Model, reason: str) -> None:
        """Return once ``model`` is hot, warming it if needed; ModelUnavailableError if the warm-up fails."""
        while model.lifecycle.state != "hot":
            if self._closed:
                raise ModelUnavailableError(f"model {model.spec.name!r}: the pool is closed")
            if model.lifecycle.state == "cooling" and model.cooled is not None:
                await asyncio.shield(model.cooled)
                continue
            if model.lifecycle.state == "cold":
                self._warm(model, reason)
            assert model.warmed is not None
            await asyncio.shield(model.warmed)

    def _unknown(self, model_id: str) -> NotFoundError:
        known = ", ".join(sorted(self._models)) or "none: no installed plugin contributes symphony_models"
        return NotFoundError(f"unknown model {model_id!r}; the pool knows: {known}")

    # -- warming ------------------------------------------------------------------------------------

    def _spawn(self, coroutine: Any, name: str = "pool") -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _predict(self, model: _Model, reason: str) -> None:
        if self._closed:
            return
        model.last_used = time.time()  # a hot model about to be needed must not be the next one evicted
        state = model.lifecycle.state
        if state == "hot":
            self._lru.move_to_end(model.spec.name)
            return
        if state == "warming":
            return
        self._predictions += 1
        model.prewarms += 1
        model.predicted = True
        if state == "cold":
            self._warm(model, f"predicted: {reason}")
        else:  # cooling: warm it once the cooling is done
            self._spawn(self._after_cooling(model, f"predicted: {reason}"))

    async def _after_cooling(self, model: _Model, reason: str) -> None:
        if model.cooled is not None:
            await asyncio.shield(model.cooled)
        if model.lifecycle.state == "cold" and not self._closed:
            self._warm(model, reason)

    def _warm(self, model: _Model, reason: str) -> None:
        """cold -> warming now; the warm-up itself waits its turn in the queue."""
        model.lifecycle.move("warming", reason)
        model.unload_requested = False
        self._predictor.forget(model.spec.name)
        warmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        warmed.add_done_callback(_retrieve)
        model.warmed = warmed
        self._changed()
        self._spawn(self._warm_up(model, warmed), name=f"pool-warm:{model.spec.name}")

    async def _warm_up(self, model: _Model, warmed: asyncio.Future[None]) -> None:
        name = model.spec.name
        started = time.perf_counter()
        try:
            async with self._warm_slots:
                self._fit(keep=model, incoming=model)  # room first: a known model's RSS is never loaded on top
                await self._reserve(model)
                worker, loaded = await asyncio.wait_for(self._start_worker(model), model.spec.warm_timeout)
        except (Exception, asyncio.CancelledError) as error:
            cause = _warm_cause(model, error)
            model.error = cause
            await self._unreserve(model)
            model.lifecycle.move("cold", "warm-up failed", error=cause)
            warmed.set_exception(ModelUnavailableError(f"model {name!r} failed to warm: {cause}"))
            self._changed()
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        model.slots = [_Slot(worker)]
        model.load_seconds = loaded
        self._watch(model, model.slots[0], worker)
        model.rss = model.last_rss = worker.rss()
        self._rss_total += model.rss
        self._lru[name] = model
        model.lifecycle.move(
            "hot",
            "warmed",
            pid=worker.pid,
            load_seconds=round(loaded, 6),
            warm_seconds=round(time.perf_counter() - started, 6),
            rss=model.rss,
        )
        warmed.set_result(None)
        self._start_ticker()
        self._fit(keep=model)
        self._changed()
        if model.unload_requested and model.holders == 0 and model.pending == 0:
            self._cool(model, "unloaded")

    async def _start_worker(self, model: _Model) -> tuple[Worker, float]:
        if self._env is None:
            self._env = worker_env()
        worker = await Worker.start(model.spec.name, self._env)
        try:
            loaded = await worker.load(model.spec.loader, model.spec.config)
        except BaseException:
            await worker.stop()
            raise
        return worker, float(loaded.get("load_seconds", 0.0))

    async def _reserve(self, model: _Model) -> None:
        """Ask the arbitration engine (if any) for a model slot and the declared memory before warming."""
        engine = self._engine()
        if engine is None:
            return
        resources: dict[str, float] = {"models": 1}
        if model.spec.memory:
            resources["memory"] = model.spec.memory
        model.grant = await engine.acquire(
            ResourceRequest(
                requester=f"pool:warm:{model.spec.name}",
                resources=resources,
                description=f"warm-up of model {model.spec.name!r}",
            )
        )

    async def _unreserve(self, model: _Model) -> None:
        grant, model.grant = model.grant, None
        engine = self._arbitration
        if grant is not None and engine is not None:
            with contextlib.suppress(ValidationError):
                await engine.release(grant)

    def _engine(self) -> ArbitrationEnginePort | None:
        if self._arbitration is None and self._arbitration_of is not None:
            with contextlib.suppress(PortUnavailableError):
                self._arbitration = self._arbitration_of()
            self._arbitration_of = None
        return self._arbitration

    # -- dead workers -------------------------------------------------------------------------------

    def _watch(self, model: _Model, slot: _Slot, worker: Worker) -> None:
        worker.on_exit = lambda dead, cause: self._died(model, slot, dead, cause)

    def _died(self, model: _Model, slot: _Slot, worker: Worker, cause: str) -> None:
        if slot.worker is not worker or self._closed:
            return
        self._failures += 1
        model.error = f"worker pid {worker.pid} {cause}"
        slot.worker = None
        self._emit(
            Event(
                topic="pool.worker.died",
                source="pool",
                data={"model": model.spec.name, "pid": worker.pid, "cause": cause},
            )
        )
        if model.lifecycle.state == "hot":
            self._replace(model, slot)
        self._changed()

    def _add_slot(self, model: _Model) -> _Slot:
        slot = _Slot()
        self._replace(model, slot)
        return slot

    def _replace(self, model: _Model, slot: _Slot) -> None:
        """Start a worker for ``slot``; its holders' calls wait for it."""
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ready.add_done_callback(_retrieve)
        slot.ready = ready
        self._spawn(self._refill(model, slot, ready), name=f"pool-replace:{model.spec.name}")

    async def _refill(self, model: _Model, slot: _Slot, ready: asyncio.Future[None]) -> None:
        name = model.spec.name
        try:
            worker, _ = await asyncio.wait_for(self._start_worker(model), model.spec.warm_timeout)
        except (Exception, asyncio.CancelledError) as error:
            cause = _warm_cause(model, error)
            model.error = cause
            slot.ready = None
            ready.set_exception(ModelUnavailableError(f"model {name!r} is unavailable: {cause}"))
            if slot in model.slots and slot.holders == 0:
                model.slots.remove(slot)
            if model.lifecycle.state == "hot" and not any(s.worker is not None for s in model.slots):
                self._cool(model, f"its worker could not be replaced: {cause}")
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        if model.lifecycle.state != "hot" or self._closed:
            await worker.stop()
            ready.set_exception(ModelUnavailableError(f"model {name!r} cooled while its worker was replaced"))
            return
        slot.worker = worker
        slot.ready = None
        self._watch(model, slot, worker)
        self._measure(model)
        ready.set_result(None)
        self._emit(Event(topic="pool.worker.ready", source="pool", data={"model": name, "pid": worker.pid}))
        self._changed()

    # -- cooling and eviction -----------------------------------------------------------------------

    def _cool(self, model: _Model, reason: str) -> None:
        """hot -> cooling now; the workers stop (and the model goes cold) in a task."""
        model.lifecycle.move("cooling", reason)
        self._lru.pop(model.spec.name, None)
        self._rss_total -= model.rss
        model.rss = 0
        model.unload_requested = False
        cooled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        model.cooled = cooled
        self._changed()
        self._spawn(self._cool_down(model, reason, cooled), name=f"pool-cool:{model.spec.name}")

    async def _cool_down(self, model: _Model, reason: str, cooled: asyncio.Future[None]) -> None:
        slots, model.slots = model.slots, []
        for slot in slots:
            if slot.ready is not None and not slot.ready.done():
                slot.ready.set_exception(ModelUnavailableError(f"model {model.spec.name!r} cooled: {reason}"))
        await asyncio.gather(*(slot.worker.stop() for slot in slots if slot.worker is not None))
        await self._unreserve(model)
        model.lifecycle.move("cold", reason)
        cooled.set_result(None)
        self._changed()
        self._refill_from_history()

    def _over_budget(self, incoming: _Model | None = None) -> bool:
        """Whether the hot models exceed a bound, or would with ``incoming`` (at its last measured RSS) added."""
        count, rss = len(self._lru), self._rss_total
        if incoming is not None:
            count, rss = count + 1, rss + incoming.last_rss
        return count > self.options.max_hot or (self._budget is not None and rss > self._budget)

    def _fit(self, keep: _Model | None = None, incoming: _Model | None = None) -> None:
        """Cool least recently used unheld models until the hot ones (and ``incoming``) fit both bounds."""
        while self._over_budget(incoming):
            victim = next(
                (m for m in self._lru.values() if m is not keep and m.holders == 0 and m.pending == 0),
                None,
            )
            if victim is None:
                return  # everything else is held: never evict a held model
            counted = len(self._lru) + (incoming is not None)
            why = (
                f"evicted: more than max_hot = {self.options.max_hot} hot models"
                if counted > self.options.max_hot
                else f"evicted: hot models' RSS {self._rss_total} B over the memory budget {self._budget} B"
            )
            if incoming is not None:
                why += f" with {incoming.spec.name!r} warming"
            self._evictions += 1
            self._predictor.evicted(victim.spec.name, time.time())
            self._cool(victim, why)

    def _refill_from_history(self) -> None:
        """Warm evicted, frequently used models again while they fit (predict_history)."""
        if not self.options.predict_history or self._closed:
            return
        for name in self._predictor.candidates(time.time()):
            model = self._models[name]
            warming = sum(1 for m in self._models.values() if m.lifecycle.state == "warming")
            if model.lifecycle.state != "cold" or len(self._lru) + warming >= self.options.max_hot:
                continue
            if self._budget is not None and self._rss_total + model.last_rss > self._budget:
                continue
            self._predict(model, "history: used often recently")

    # -- health -------------------------------------------------------------------------------------

    def _start_ticker(self) -> None:
        if self._ticker is None and not self._closed:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever(), name="pool-health")

    async def _tick_forever(self) -> None:
        interval = self.options.health_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self._tick(interval)
            except Exception:  # one failed round must not end the health checks for the host's life
                log.exception("pool health check failed; trying again in %g s", interval)

    async def _tick(self, timeout: float) -> None:
        """Cool the idle, ping every hot worker (killing the hung: replaced like the dead), measure RSS."""
        self._take_unload_requests()
        now = time.time()
        for model in list(self._lru.values()):
            idle = model.spec.idle_timeout or self.options.idle_timeout
            if model.holders == 0 and model.pending == 0 and now - (model.last_used or now) >= idle:
                self._cool(model, f"idle for {idle:g} s")
        workers = [slot.worker for m in self._lru.values() for slot in m.slots if slot.worker is not None]
        answers = await asyncio.gather(*(worker.ping(timeout) for worker in workers))
        for worker, answered in zip(workers, answers, strict=True):
            if not answered and worker.alive:
                worker.kill(f"did not answer a ping within {timeout:g} s (hung) and was killed")
        moved = False
        for model in list(self._lru.values()):
            moved = self._measure(model) or moved
        if self._over_budget():
            self._fit()
        if moved or self._allocations != self._allocations_shown:  # a quiet pool leaves its snapshot alone
            self._changed()

    def _take_unload_requests(self) -> None:
        """Unload the models ``symphony pool unload`` asked for from another process (a file per model)."""
        if self.snapshot is None:
            return
        try:
            requests = list(unload_requests(self.snapshot.path).iterdir())
        except OSError:
            return
        for request in requests[: len(self._models) + 1]:
            with contextlib.suppress(OSError):
                request.unlink()
            if request.name in self._models:
                self._spawn(self.unload(ModelId(request.name)))

    def _measure(self, model: _Model) -> bool:
        """Update the model's RSS; whether it moved by more than 1 MiB (worth a new snapshot)."""
        rss = sum(slot.worker.rss() for slot in model.slots if slot.worker is not None)
        if model.lifecycle.state != "hot":
            return False
        moved = abs(rss - model.rss) > 2**20
        self._rss_total += rss - model.rss
        model.rss = model.last_rss = rss
        return moved

    # -- status -------------------------------------------------------------------------------------

    def _model_status(self, model: _Model) -> ModelStatus:
        return ModelStatus(
            model_id=ModelId(model.spec.name),
            state=model.lifecycle.state,
            handles=model.holders,
            instances=sum(1 for slot in model.slots if slot.worker is not None and slot.worker.alive),
            rss=model.rss,
            last_used=model.last_used,
            cold_starts=model.cold_starts,
            prewarms=model.prewarms,
            error=model.error,
            load_seconds=model.load_seconds,
        )

    def _emit(self, event: Event) -> None:
        self._emit_event(event)

    def _changed(self) -> None:
        self._used = True
        if self.snapshot is not None:
            self._allocations_shown = self._allocations
            self.snapshot.changed()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a failure as seen: a prewarm nobody awaits must not log 'exception was never retrieved'."""
    if not future.cancelled():
        future.exception()


def _warm_cause(model: _Model, error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"the warm-up took longer than its warm_timeout of {model.spec.warm_timeout:g} s"
    if isinstance(error, asyncio.CancelledError):
        return "the warm-up was cancelled (the pool closed)"
    return str(error) or type(error).__name__
