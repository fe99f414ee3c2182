"""Training batches fed to the loop: made ahead by a background thread, copied to the GPU on a side stream.

With ``workers`` = 0 each batch is made in the training loop when it is needed. With ``workers`` >= 1 a
producer thread makes an epoch's batches ``depth`` ahead of the loop, the samples of a batch spread over a
pool of ``workers`` threads (NumPy's copies release the GIL); on CUDA it fills pinned host buffers and copies
them to the device on its own stream, so the copy overlaps the previous step's compute. The batches, and
the run generator's state after the epoch, are the same for any ``workers`` (the sampler draws per-sample
seeds in order), so checkpoints and ``--resume`` don't depend on it.

Host arrays are allocated once and reused in turn (fresh 50 MB arrays per batch cost more page faults than
the copies into them). On the CPU a batch's tensors share those arrays: a batch is valid until the loop
fetches the next one, which is how the training loop uses them; copy a batch to keep it longer.

``wait_seconds`` is the time the loop spent waiting for batches in the last epoch: the data-loading share
of the step time is ``wait_seconds`` over the epoch's time.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np


def resolve_workers(value: Any, device: str) -> int:
    """``num_workers`` of the run config: ``auto`` is 0 on the CPU (the cores are busy training) and on a GPU
    up to 8 threads, leaving two cores to the training loop."""
    if value in (None, "auto"):
        return 0 if not device.startswith("cuda") else max(1, min(8, (os.cpu_count() or 2) - 2))
    return max(0, int(value))


def pinned_array(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised NumPy array in page-locked host memory (asynchronous copies to a GPU need it)."""
    import torch

    return torch.empty(shape, dtype=torch.from_numpy(np.empty(0, dtype)).dtype, pin_memory=True).numpy()


class BatchFeed:
    """Yields ``(images, targets)`` tensors on ``device`` for one epoch at a time (see the module docstring)."""

    def __init__(self, sampler: Any, device: str, workers: int = 0, channels_last: bool = False, depth: int = 2):
        self.sampler = sampler
        self.device = device
        self.workers = int(workers)
        self.channels_last = channels_last
        self.depth = max(1, int(depth))
        self.on_cuda = device.startswith("cuda")
        self.wait_seconds = 0.0
        self._pool = None
        self._stream = None
        self._ring: list[tuple[np.ndarray, np.ndarray]] = []
        self._made = 0

    # ---------------------------------------------------------------- one batch
    def _next_buffers(self) -> Any:
        """The host arrays for the next batch, in turn from a ring; None for samplers that make their own.

        On CUDA each batch's copy has finished before the next batch is made, so one set suffices; on the CPU
        the loop may hold the batch it trains on while the queue holds ``depth`` more."""
        if not hasattr(self.sampler, "new_buffers"):
            return None
        size = 1 if self.on_cuda or self.workers == 0 else self.depth + 2
        while len(self._ring) < size:
            self._ring.append(self.sampler.new_buffers(pinned_array if self.on_cuda else None))
        self._made += 1
        return self._ring[self._made % size]

    def _to_device(self, images: np.ndarray, targets: np.ndarray) -> tuple[Any, Any]:
        import torch

        x = torch.from_numpy(images).to(self.device, non_blocking=self.on_cuda)
        y = torch.from_numpy(np.asarray(targets)).to(self.device, non_blocking=self.on_cuda)
        if self.channels_last and x.ndim in (4, 5):
            x = x.contiguous(memory_format=torch.channels_last_3d if x.ndim == 5 else torch.channels_last)
        return x, y

    def _make(self, rng: np.random.Generator) -> tuple[Any, Any]:
        """One batch on the device (on CUDA: copied on the feed's stream, the copy finished on return)."""
        images, targets = self.sampler(rng, pool=self._pool, out=self._next_buffers())
        if not self.on_cuda:
            return self._to_device(images, targets)
        import torch

        if self._stream is None:
            self._stream = torch.cuda.Stream(device=self.device)
        with torch.cuda.stream(self._stream):
            x, y = self._to_device(images, targets)
        self._stream.synchronize()  # the pinned buffers are free again, and the loop's stream needs no wait
        return x, y

    # ---------------------------------------------------------------- one epoch
    def epoch(self, rng: np.random.Generator, steps: int) -> Iterator[tuple[Any, Any]]:
        """The epoch's ``steps`` batches, in order; ``rng`` is used by this feed alone until the epoch ends."""
        self.wait_seconds = 0.0
        if self.workers == 0:
            for _ in range(steps):
                t0 = time.perf_counter()
                batch = self._make(rng)
                self.wait_seconds += time.perf_counter() - t0
                yield self._handed_over(batch)
            return
        if self.workers > 1 and self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="medhub-batch")
        ready: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()
        producer = threading.Thread(target=self._produce, args=(rng, steps, ready, stop), daemon=True,
                                    name="medhub-feed")
        producer.start()
        try:
            for _ in range(steps):
                t0 = time.perf_counter()
                item = ready.get()
                self.wait_seconds += time.perf_counter() - t0
                if isinstance(item, BaseException):
                    raise item
                yield self._handed_over(item)
        finally:
            stop.set()
            while producer.is_alive():
                try:
                    ready.get(timeout=0.05)  # unblock a producer waiting on a full queue
                except queue.Empty:
                    pass
            producer.join()

    def _handed_over(self, batch: tuple[Any, Any]) -> tuple[Any, Any]:
        """``batch`` ready for the loop's stream: on CUDA its tensors were allocated on the feed's stream, and
        the caching allocator must not hand their memory to the next copy while the loop still uses them."""
        if self.on_cuda:
            import torch

            stream = torch.cuda.current_stream(self.device)
            for tensor in batch:
                tensor.record_stream(stream)
        return batch

    def _produce(self, rng: np.random.Generator, steps: int, ready: queue.Queue, stop: threading.Event) -> None:
        try:
            if self.on_cuda:
                import torch

                torch.cuda.set_device(torch.device(self.device))
            for _ in range(steps):
                if stop.is_set():
                    return
                batch = self._make(rng)
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.05)
                        break
                    except queue.Full:
                        continue
        except BaseException as err:  # handed to the loop, raised there
            ready.put(err)

    def close(self) -> None:
        """Stop the sample threads and drop the host buffers."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._ring = []
