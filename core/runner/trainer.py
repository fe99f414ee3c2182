"""The trainer: builds what a run needs from its config, trains with checkpoints, validates, and
collects what the result record holds."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from medhub.core.atomic import write_json_atomic
from medhub.core.checkpoints import (
    PREDICT_KEYS,
    RESUME_KEYS,
    apply_weights,
    load_checkpoint,
    retrain_fix,
    save_checkpoint,
)
from medhub.core.data.availability import ensure_available
from medhub.core.data.fingerprint import parts_fingerprint
from medhub.core.errors import MedhubError
from medhub.core.model_adapters import count_parameters
from medhub.core.parallel.distributed import DistInfo, shared_value
from medhub.core.paths import runs_dir
from medhub.core.runconfig.options import RunConfig
from medhub.core.runconfig.saved import config_hash
from medhub.core.runs import CHECKPOINT_BEST, CHECKPOINT_LAST, now_iso, write_progress


@dataclass
class RunState:
    """What a checkpoint holds besides the weights."""

    epoch: int = 0
    step: int = 0
    best_value: float | None = None
    best_epoch: int | None = None
    since_best: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    train_samples: int = 0
    val_seconds: float = 0.0


def better(value: float, best: float | None, direction: str) -> bool:
    """Whether ``value`` beats ``best`` in the ranking direction (NaN never does)."""
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value > best if direction == "max" else value < best


class Trainer:
    """Builds everything a run needs from its config, trains, evaluates and writes the result."""

    def __init__(self, config: RunConfig, run_dir: Path, quiet: bool = False, dist: DistInfo | None = None):
        from medhub.core.components import model_entry, model_part
        from medhub.core.inference.scoring import run_protocol
        from medhub.core.plugin_manager import get_registry

        self.config = config
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        # Under torchrun every rank trains; rank 0 alone shows progress and writes files.
        self.dist = dist or DistInfo(device=config.device)
        self.main = self.dist.is_main
        self.quiet = quiet or not self.main
        registry = get_registry()
        self.info = registry.dataset(config.dataset)
        self.model_info = model_entry(model_part(config, registry))
        # Segmentation is scored under the dataset's protocol: validation on the preprocessed grid (a proxy that
        # chooses best.pt), the record on each reference file's own grid.
        self.protocol = run_protocol(self.info, float(config.nsd_tolerance))
        self.metric_ids = list(self.info.metrics) or ["accuracy"]  # classification / regression: dataset-level
        self.ranking_metric = self.protocol.ranking.name
        self.direction = self.info.ranking_direction
        self.prepare_seconds = 0.0  # data preparation and model setup (set by the driver)
        self.output_checked = False  # set once a session's first batch gave the output the task needs

    # ---------------------------------------------------------------- setup
    def setup(self) -> None:
        """Components (checked before any work), data, split, model, optimizer, schedule, loss, device plan."""
        import torch
        from medhub.core.components import model_entry, resolve_run
        from medhub.core.data.cases import parse_dataset, split_cases
        from medhub.core.data.prepare import is_multilabel, num_outputs, prepare
        from medhub.core.parallel.devices import plan_devices
        from medhub.core.plugin_manager import get_registry
        from medhub.core.runner.losses import build_loss
        from medhub.core.runner.optim import build_optimizer, build_scheduler
        from medhub.core.runner.samplers import ArraySampler, SegmentationSampler

        cfg = self.config
        self.parts = resolve_run(cfg, get_registry(), self.info.task)
        torch.manual_seed(cfg.seed)
        self.plan = plan_devices(cfg, self.info.dims)
        if self.dist.enabled:
            if cfg.model_parallel:
                raise MedhubError("--model-parallel cannot be combined with a torchrun data-parallel launch yet: "
                                  "use one of the two (docs/parallel.md)")
            self.plan.devices = [self.dist.device]  # one device per process: cuda:LOCAL_RANK or cpu
        ensure_available(self.info.id, quiet=self.quiet)
        parts = parse_dataset(self.info.id)
        train_cases, self.manifest = split_cases(parts, "train", cfg.fold, cfg.folds, cfg.seed)
        val_cases, _ = split_cases(parts, "val", cfg.fold, cfg.folds, cfg.seed)
        eval_split = cfg.eval_split
        if eval_split is None:
            test_cases, _ = split_cases(parts, "test", cfg.fold, cfg.folds, cfg.seed)
            eval_split = "test" if test_cases and all(c.get("label") is not None for c in test_cases) else "val"
        self.eval_split = eval_split
        eval_cases, _ = split_cases(parts, eval_split, cfg.fold, cfg.folds, cfg.seed)
        if not train_cases:
            raise MedhubError(f'dataset "{self.info.id}" has no training cases in fold {cfg.fold}')
        self.data_fingerprint = parts_fingerprint(parts.parts, self.info.id)
        self.train = prepare(train_cases, cfg, self.info, "prepare train", self.quiet, stage="train")
        self.val = prepare(val_cases, cfg, self.info, "prepare val", self.quiet)
        self.eval = (self.val if eval_split == "val" else
                     prepare(eval_cases, cfg, self.info, f"prepare {eval_split}", self.quiet))
        self.in_channels = int(self.train[0].image.shape[0])
        self.out_channels = num_outputs(self.info, self.train)
        self.multilabel = self.info.task == "classification" and is_multilabel(self.train)
        if self.multilabel and cfg.loss == "ce":
            # one sigmoid per class; saved so a resume or reproduce uses the same loss
            self.config = cfg = cfg.replace(loss="bce")
            self.parts = resolve_run(cfg, get_registry(), self.info.task)
            if self.main:
                write_json_atomic(self.run_dir / "config.json", cfg.to_dict())
        seg = self.info.task == "segmentation"
        from medhub.core.parallel.distributed import shard

        # Data parallel: each rank samples from its own shard (padded so every rank runs the same steps).
        local_train = shard(self.train, self.dist, pad=True)
        self.sampler = (SegmentationSampler if seg else ArraySampler)(local_train, cfg, self.info.dims, self.info.task)
        self.steps_per_epoch = cfg.steps_per_epoch or (self.sampler.steps_per_epoch() if not seg else 16)
        self.total_steps = self.steps_per_epoch * cfg.epochs

        self.model = model_entry(self.parts.model).build(self.in_channels, self.out_channels, dims=self.info.dims,
                                                           **self.parts.model.params)
        self.n_parameters = count_parameters(self.model)
        self.stage_layout = None
        if cfg.model_parallel:
            from medhub.core.parallel import ModelParallel

            shape = (1, self.in_channels, *(cfg.patch_size or self.train[0].image.shape[1:]))
            self.model = ModelParallel(self.model, self.plan.devices, split_size=cfg.split_size,
                                       sample_input_shape=shape)
            self.stage_layout = self.model.stage_layout()
        else:
            self.model = self.model.to(self.plan.primary)
            if self.plan.channels_last:
                fmt = torch.channels_last_3d if self.info.dims == 3 else torch.channels_last
                self.model = self.model.to(memory_format=fmt)
        # ``core_model`` is the model itself (checkpoints, evaluation); ``model`` is what training calls:
        # the same module, wrapped in DistributedDataParallel under torchrun.
        self.core_model = self.model
        from medhub.core.parallel.distributed import wrap_ddp

        self.model = wrap_ddp(self.core_model, self.dist, self.plan.primary)
        self.optimizer = build_optimizer(self.parts.optimizer, self.model.parameters(), cfg)
        self.scheduler = build_scheduler(self.parts.schedule, self.optimizer, cfg, self.total_steps, self.steps_per_epoch)
        self.loss_fn = build_loss(self.parts.loss, self.info.task, self.out_channels, self.multilabel)
        self.scaler = torch.amp.GradScaler("cuda") if self.plan.amp == "fp16" else None
        seed = cfg.seed
        # rank 0 draws exactly what a single-process run draws; other ranks get their own streams
        self.rng = np.random.Generator(np.random.PCG64(seed if self.dist.rank == 0 else [seed, self.dist.rank]))
        from medhub.core.runner.batches import BatchFeed, resolve_workers

        self.feed = BatchFeed(self.sampler, self.plan.primary, resolve_workers(cfg.num_workers, self.plan.primary),
                              channels_last=self.plan.channels_last and not cfg.model_parallel)
        self.last_data_share = 0.0
        self.state = RunState()

    # ---------------------------------------------------------------- checkpoints
    def checkpoint(self, name: str) -> Path:
        """Write a checkpoint (rank 0 only; every rank must call it: ``last.pt`` gathers the per-rank RNG states)
        and, with ``last.pt``, the run's ``progress.json`` (what ``hub runs`` shows)."""
        import torch
        from medhub.core.parallel.distributed import all_gather_rows

        path = self.run_dir / "checkpoints" / name
        resume = name == CHECKPOINT_LAST  # last.pt: all a resume needs; best.pt: the weights and io alone
        ranks = all_gather_rows([{"rng_numpy": self.rng.bit_generator.state, "rng_cuda": self._cuda_rng_state(),
                                  "sampler": self.sampler.state() if hasattr(self.sampler, "state") else None}],
                                self.dist) if self.dist.enabled and resume else None
        if not self.main:
            return path
        blob = {
            "model": self.core_model.state_dict(),
            "io": {"in_channels": self.in_channels, "out_channels": self.out_channels, "multilabel": self.multilabel},
        }
        if resume:
            blob.update({
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "state": self.state.__dict__, "rng_numpy": self.rng.bit_generator.state,
                "rng_torch": torch.get_rng_state(), "rng_cuda": self._cuda_rng_state(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "sampler": self.sampler.state() if hasattr(self.sampler, "state") else None, "ranks": ranks,
            })
        save_checkpoint(blob, path, self._kept_after_failed_write())
        if resume:
            write_progress(self.run_dir, {"epoch": self.state.epoch, "step": self.state.step,
                                          "metric": self.ranking_metric, "best_value": self.state.best_value,
                                          "best_epoch": self.state.best_epoch, "updated": now_iso()})
        return path

    def _kept_after_failed_write(self) -> str:
        """What a failed checkpoint write leaves the user: the last good checkpoint and how to go on."""
        last = self.run_dir / "checkpoints" / CHECKPOINT_LAST
        if last.is_file():
            return (f"the run's last good checkpoint {last} is kept as it was: free some space (or make "
                    f"{self.run_dir} writable), then continue with hub run --resume {self.run_id}")
        return ("no epoch's checkpoint had been written, so nothing of the run is kept: free some space (or make "
                f"{runs_dir()} writable) and start the run again")

    def restore(self, path: Path) -> None:
        """Continue exactly where a checkpoint stopped (weights, optimizer, schedule, RNG, epoch)."""
        import torch

        fix = (f"the run cannot continue from it: start it again with hub run --config "
               f"{self.run_dir / 'config.json'}")
        blob = load_checkpoint(path, RESUME_KEYS, fix)
        apply_weights(self.core_model.load_state_dict, blob["model"], path, fix)
        apply_weights(self.optimizer.load_state_dict, blob["optimizer"], path, fix)
        apply_weights(self.scheduler.load_state_dict, blob["scheduler"], path, fix)
        apply_weights(lambda state: setattr(self, "state", RunState(**state)), blob["state"], path, fix)
        own = blob.get("ranks")
        own = own[self.dist.rank] if own and len(own) == self.dist.world_size else blob
        self.rng.bit_generator.state = own["rng_numpy"]
        torch.set_rng_state(blob["rng_torch"])
        for device, state in (own.get("rng_cuda") or {}).items():
            if device in self.plan.devices:  # the same GPUs as before (a CPU resume of a GPU run skips them)
                torch.cuda.set_rng_state(state, device)
        if self.scaler is not None and blob.get("scaler"):
            self.scaler.load_state_dict(blob["scaler"])
        if own.get("sampler") is not None and hasattr(self.sampler, "load_state"):
            self.sampler.load_state(own["sampler"])

    def _cuda_rng_state(self) -> dict[str, Any] | None:
        """The random state of each CUDA device the run uses (dropout masks), None on the CPU."""
        import torch

        devices = sorted({d for d in self.plan.devices if d.startswith("cuda")})
        return {d: torch.cuda.get_rng_state(d) for d in devices} or None

    # ---------------------------------------------------------------- training
    def train_epoch(self, writer: Any) -> float:
        """One epoch of optimizer steps; returns the mean training loss (averaged over ranks under torchrun)."""
        from tqdm.auto import tqdm

        self.model.train()
        losses: list[float] = []
        start = time.perf_counter()
        batches = self.feed.epoch(self.rng, self.steps_per_epoch)
        bar = tqdm(batches, total=self.steps_per_epoch, desc=f"epoch {self.state.epoch + 1}/{self.config.epochs}",
                   unit="step", disable=self.quiet, leave=False)
        try:
            x, y, out = self._steps(bar, losses, writer)
        finally:
            batches.close()  # stops the feed's producer thread, also when a step raised
        elapsed = time.perf_counter() - start
        self.state.train_seconds += elapsed
        self.last_data_share = self.feed.wait_seconds / max(elapsed, 1e-9)
        if writer is not None:
            writer.add_scalar("train/samples_per_s", self.steps_per_epoch * self.sampler.batch_size * self.dist.world_size
                              / max(elapsed, 1e-9),
                              self.state.step)
            writer.add_scalar("train/data_wait_share", self.last_data_share, self.state.step)
            from medhub.core.runner.summaries import log_batch

            log_batch(writer, x, out, y, self.state.step, self.info)
        from medhub.core.parallel.distributed import all_reduce_mean

        return all_reduce_mean(float(np.mean(losses)), self.dist)

    def _steps(self, bar: Any, losses: list[float], writer: Any) -> tuple[Any, Any, Any]:
        """The optimizer steps over the batches of ``bar``; returns the last batch and output (for summaries).

        A step's loss is read back after the next step's work is queued, so a GPU never idles on that read;
        a non-finite loss still stops the run naming its own step (the weights after it are not kept: the
        last good checkpoint is the previous epoch's)."""
        import torch

        # On CUDA each step's loss is copied into one of two pinned host slots, behind a CUDA event; reading
        # it waits for that event alone (``loss.item()`` would wait for everything queued after it too, the
        # next step included, and the GPU would drain at every step).
        slots = ([torch.zeros((), dtype=torch.float32, pin_memory=True) for _ in range(2)]
                 if self.plan.primary.startswith("cuda") else None)

        def read_back(step: int, loss: Any, done: Any) -> None:
            if done is not None:
                done.synchronize()
            value = float(loss.item())
            if not math.isfinite(value):
                last = self.run_dir / "checkpoints" / CHECKPOINT_LAST
                kept = (f"The last good checkpoint is {last} (hub run --resume {self.run_id} continues from it). "
                        if last.is_file() else "No epoch had finished, so nothing of the run was kept. ")
                raise MedhubError(
                    f"the loss became {value} at epoch {self.state.epoch + 1}, step {step}; training stopped. "
                    f"{kept}Try a lower --lr, --amp off, or check the data for NaN values")
            losses.append(value)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            if writer is not None:
                writer.add_scalar("train/loss", value, step)

        pending: tuple[int, Any, Any] | None = None  # (step number, loss, its CUDA event) not read back yet
        x = y = out = None
        for x, y in bar:
            self.optimizer.zero_grad(set_to_none=True)
            with self.plan.autocast():
                out = self.model(x) if self.output_checked else self._first_forward(x)
            loss = self.loss_fn(out, y.to(out.device))
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if self.config.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), float(self.config.grad_clip))
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.scheduler.step()
            self.state.step += 1
            self.state.train_samples += len(x) * self.dist.world_size
            if writer is not None:
                writer.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], self.state.step)
            if slots is None:
                loss_now, done = loss.detach(), None
            else:
                loss_now = slots[self.state.step % 2]
                loss_now.copy_(loss.detach().float(), non_blocking=True)
                done = torch.cuda.Event()
                done.record(torch.cuda.current_stream(loss.device))
            if pending is not None:
                read_back(*pending)
            pending = (self.state.step, loss_now, done)
        if pending is not None:
            read_back(*pending)
        return x, y, out

    def _first_forward(self, x: Any) -> Any:
        """The model on a session's first batch, checked against the task: logits ``(N, K, *patch)`` for
        segmentation, ``(N, K)`` for classification and regression (K = ``out_channels``). A model that fails
        on the batch or returns another shape stops the run with one line naming the model, its plugin, the
        batch and what was expected, before the loss raises something cryptic."""
        import torch
        from medhub.core.registry import resolve_ref, takes_parameter

        batch = f"a {self.info.dims}D {self.info.task} batch of shape {tuple(x.shape)} from {self.info.id}"
        given = f"in_channels={self.in_channels}, out_channels={self.out_channels}"
        if takes_parameter(resolve_ref(self.model_info.factory), "dims"):
            given += f", dims={self.info.dims}"
        hint = f"its factory was given {given}; it declares dims {tuple(self.model_info.dims)}"
        try:
            out = self.model(x)
        except torch.cuda.OutOfMemoryError:
            raise
        except (RuntimeError, ValueError, TypeError, IndexError) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise MedhubError(f"{self.model_info.named()} failed on {batch} ({reason}); {hint}") from err
        expected = (len(x), self.out_channels, *x.shape[2:]) if self.info.task == "segmentation" else (
            len(x), self.out_channels)
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else f"a {type(out).__name__}, not a tensor,"
        if got != expected:
            layout = "(N, classes, *patch)" if self.info.task == "segmentation" else "(N, outputs)"
            raise MedhubError(f"{self.model_info.named()} returned {got} for {batch}: expected {expected} "
                              f"{layout}; {hint}")
        self.output_checked = True
        return out

    def score(self, cases: list[Any], final: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Per-case rows and aggregate metrics of ``cases`` with the model as it is now; under torchrun each rank
        scores a shard and all ranks get all rows, in the order of ``cases``.

        ``final``: the record's numbers (segmentation: the whole protocol on each reference label file's own
        grid, the path ``hub predict`` + ``hub evaluate`` take; classification / regression: every metric of
        the card). Otherwise validation: the same metrics (TensorBoard logs them all; the ranking one chooses
        ``best.pt``), segmentation on the preprocessed grid — a proxy of the record's numbers."""
        from medhub.core.inference.predictors import predict_arrays
        from medhub.core.inference.scoring import score_original, score_outputs, score_preprocessed
        from medhub.core.metrics.protocol import aggregate_protocol
        from medhub.core.parallel.distributed import all_gather_rows, shard

        self.model.eval()
        local = shard(cases, self.dist)  # every case once, on one rank
        # the unwrapped model: evaluation needs no gradient synchronisation
        model, device, autocast = self.core_model, self.plan.primary, self.plan.autocast
        if self.info.task == "segmentation":
            protocol = self.protocol
            if final:
                rows = score_original(model, local, self.info, protocol, self.config, self.out_channels, device,
                                      autocast, quiet=self.quiet)
            else:
                rows = score_preprocessed(model, local, protocol, self.config, self.out_channels, device, autocast,
                                          quiet=self.quiet)
            if self.dist.enabled:
                per_case = [[r for r in rows if r["case"] == c.id] for c in local]
                rows = [r for group in all_gather_rows(per_case, self.dist) for r in group]
            return rows, aggregate_protocol(rows, protocol)
        outputs = list(predict_arrays(model, [c.image for c in local], device, autocast)) if local else []
        outputs = all_gather_rows(outputs, self.dist)
        return score_outputs(np.stack(outputs), cases, self.info, self.metric_ids, self.multilabel)

    def selection(self) -> dict[str, Any]:
        """How ``best.pt`` was chosen, for the record: the validation ``metric`` (its ``direction``), the
        ``split`` and the ``grid`` it was scored on (segmentation: ``"preprocessed"``, a proxy of the record's
        numbers, which are re-scored on the references' own grid; classification / regression: null), and
        the ``epoch`` kept. Without validation cases (or when no validation gave a number) the last epoch is
        kept, and without validation cases ``metric`` / ``split`` are null."""
        validated = bool(self.val)
        kept = self.state.best_epoch if validated and self.state.best_epoch is not None else self.state.epoch
        return {"metric": self.ranking_metric if validated else None,
                "direction": self.direction if validated else None, "split": "val" if validated else None,
                "grid": "preprocessed" if validated and self.info.task == "segmentation" else None, "epoch": kept}

    def fit(self, stop_after_epochs: int | None = None) -> bool:
        """Train until the configured epochs (or early stopping); False when stopped early on request."""
        from medhub.core.runner.summaries import open_writer
        from tqdm.auto import tqdm

        cfg = self.config
        writer = open_writer(self.run_dir / "tensorboard") if cfg.tensorboard and self.main else None
        epochs_this_session = 0
        bar = tqdm(total=cfg.epochs, initial=self.state.epoch, desc="train", unit="epoch",
                   disable=self.quiet)
        try:
            while self.state.epoch < cfg.epochs:
                if stop_after_epochs is not None and epochs_this_session >= stop_after_epochs:
                    return False
                loss = self.train_epoch(writer)
                self.state.epoch += 1
                epochs_this_session += 1
                entry: dict[str, Any] = {"epoch": self.state.epoch, "loss": loss}
                if writer is not None:  # every summary at the global step; this maps steps to epochs
                    writer.add_scalar("train/epoch", self.state.epoch, self.state.step)
                    if cfg.histogram_every and self.state.epoch % cfg.histogram_every == 0:
                        from medhub.core.runner.summaries import log_parameters

                        log_parameters(writer, self.core_model, self.state.step)
                if self.val and (self.state.epoch % cfg.val_every == 0 or self.state.epoch == cfg.epochs):
                    t0 = time.perf_counter()
                    rows, agg = self.score(self.val)  # every metric: TensorBoard shows them all
                    self.state.val_seconds += time.perf_counter() - t0
                    value = float(agg.get(self.ranking_metric, float("nan")))
                    entry["val_" + self.ranking_metric] = value
                    if writer is not None:
                        from medhub.core.runner.summaries import log_validation

                        log_validation(writer, rows, agg, self.state.step, self.info, self.multilabel)
                    if better(value, self.state.best_value, self.direction):
                        self.state.best_value, self.state.best_epoch, self.state.since_best = value, self.state.epoch, 0
                        self.checkpoint(CHECKPOINT_BEST)
                    else:
                        self.state.since_best += 1
                elif not self.val and self.state.epoch == cfg.epochs:
                    self.checkpoint(CHECKPOINT_BEST)
                self.state.history.append(entry)
                self.checkpoint(CHECKPOINT_LAST)
                bar.update(1)
                bar.set_postfix({k: f"{v:.4f}" for k, v in entry.items() if k != "epoch"})
                if cfg.early_stopping and self.state.since_best >= cfg.early_stopping:
                    break
        finally:
            bar.close()
            self.feed.close()
            if writer is not None:
                writer.close()
        # rank 0's view of the disk decides, so that every rank takes the same (collective) path
        if not shared_value((self.run_dir / "checkpoints" / CHECKPOINT_BEST).exists(), self.dist):
            self.checkpoint(CHECKPOINT_BEST)
        return True

    # ---------------------------------------------------------------- final evaluation and record
    def finish(self, created: str, reproduces: str | None = None) -> dict[str, Any]:
        import torch

        best = self.run_dir / "checkpoints" / CHECKPOINT_BEST
        if self.main:
            fix = retrain_fix(self.run_dir)
            apply_weights(self.core_model.load_state_dict, load_checkpoint(best, PREDICT_KEYS, fix)["model"], best,
                          fix)
        if self.dist.enabled:  # rank 0 read the best weights; the others receive them (no shared disk needed)
            import torch.distributed

            for tensor in self.core_model.state_dict().values():
                torch.distributed.broadcast(tensor, src=0)
        t0 = time.perf_counter()
        rows, agg = self.score(self.eval, final=True)
        eval_s = time.perf_counter() - t0
        onnx_path, onnx_diff, export_s = None, None, 0.0
        if not self.main:
            return {}
        if self.config.onnx:  # a model-parallel model is exported unsplit
            from medhub.core.runner.export import export_onnx

            sample = self.eval[0] if self.eval else self.train[0]
            t0 = time.perf_counter()
            exported = export_onnx(self.core_model, sample.image, self.config, self.run_dir / "model.onnx",
                                   self.info.dims, quiet=self.quiet)
            onnx_path, onnx_diff = exported.path, exported.summary()
            export_s = time.perf_counter() - t0
        from medhub.leaderboard.provenance import versions
        from medhub.leaderboard.record import build_record

        record = build_record(
            run_id=self.run_id, created=created, finished=now_iso(),
            dataset={"id": self.info.id, "version": self.info.version, "fingerprint": self.data_fingerprint,
                     "split": {"name": self.eval_split, "fold": self.manifest.fold, "folds": self.manifest.folds,
                               "seed": self.manifest.seed, "fingerprint": self.manifest.fingerprint}},
            model={"id": self.model_info.id, "hparams": dict(self.parts.model.params),
                   "parameters": int(self.n_parameters)}, components=self.parts.describe(),
            config=self.config.to_dict(), config_hash=config_hash(self.config), rows=rows, aggregate=agg,
            ranking_metric=self.ranking_metric, direction=self.direction,
            devices={"device": self.plan.primary, "names": self.plan.devices, "amp": self.plan.amp,
                     "channels_last": bool(self.plan.channels_last and not self.stage_layout),
                     "parallel": {"mode": ("model-parallel" if self.stage_layout else
                                           "ddp" if self.dist.enabled else "none"),
                                  "world_size": self.dist.world_size, "backend": self.dist.backend,
                                  "stages": self.stage_layout}},
            timings=timings(self.prepare_seconds, self.state, eval_s, export_s), versions=versions(),
            artifacts={"run_dir": str(self.run_dir), "config": str(self.run_dir / "config.json"),
                       "checkpoint_best": str(best), "checkpoint_last": str(self.run_dir / "checkpoints" / CHECKPOINT_LAST),
                       "onnx": str(onnx_path) if onnx_path else None,
                       "tensorboard": str(self.run_dir / "tensorboard")},
            onnx_max_abs_diff=onnx_diff, history=self.state.history, protocol=self.protocol.summary(),
            reproduces=reproduces)
        return {**record, "selection": self.selection()}


def timings(prepare_s: float, state: RunState, eval_s: float, export_s: float) -> dict[str, float]:
    """The record's timings: each part of the run, and ``total_s`` their sum (a resumed run's training and
    validation times span all its sessions; preparation is the last session's)."""
    parts = {"prepare_s": prepare_s, "train_s": state.train_seconds, "val_s": state.val_seconds, "eval_s": eval_s,
             "export_s": export_s}
    out = {k: round(v, 3) for k, v in parts.items()}
    out["total_s"] = round(sum(parts.values()), 3)
    out["train_samples_per_s"] = round(state.train_samples / max(state.train_seconds, 1e-9), 3)
    return out
