"""``hub run``: train, validate and test a dataset x model pairing; write the result record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "run"
HELP = "train and evaluate a model on a dataset (no arguments: unet3d on synthetic/spheres)"
ORDER = 20
EXAMPLES = """\
# the embedded default: unet3d on synthetic/spheres, on the CPU, in about two minutes
hub run
# a Decathlon task on the first GPU for 50 epochs
hub run --dataset decathlon/spleen --model unet3d --device cuda --epochs 50
# nnU-Net's optimizer recipe, smaller patches, another validation fold and seed
hub run --optimizer sgd --schedule poly --lr 0.01 --patch-size 32 32 32 --fold 1 --seed 3
# a 2D classification set; the result record as JSON on stdout
hub run --dataset synthetic/shapes --json
# keys from a YAML or JSON file, and keys without a flag of their own (JSON values); flags beat the file
hub run --config my-run.yaml --set sw_overlap=0.25 --set model_hparams='{"channels": [8, 16, 32, 64]}'
# the model in 2 pipelined stages on two GPUs, micro-batches of 1
hub run --device cuda:0,1 --model-parallel 2 --split-size 1
# continue an interrupted run from its last checkpoint (a unique prefix of its id is enough)
hub run --resume 20261123-101500-synthetic-spheres-unet3d-ab12cd
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the run options that have one (declared in :mod:`medhub.core.runconfig.options`), then
    ``--config``, ``--set`` and what the command itself takes."""
    from medhub.core.runconfig.flags import add_option_flags

    add_option_flags(parser)
    parser.add_argument("--config", type=Path, help="YAML or JSON file of configuration keys")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other configuration key (JSON value), e.g. --set sw_overlap=0.25")
    parser.add_argument("--resume", metavar="RUN_ID",
                        help="continue an interrupted or failed run (a unique prefix of its id is enough; "
                             "see hub runs)")
    parser.add_argument("--json", action="store_true", help="print the result record as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def parse_set(items: list[str]) -> dict[str, object]:
    """``--set key=value`` pairs with JSON values (plain strings allowed)."""
    import json

    from medhub.core.errors import MedhubError

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise MedhubError(f'--set "{item}": expected KEY=VALUE')
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def run(args: argparse.Namespace) -> int:
    """Resolve the config, train, evaluate, print the summary (or the record with --json). The run's id and
    the command that resumes it are said on stderr when it starts and when Ctrl-C stops it."""
    from medhub.core.errors import MedhubError
    from medhub.core.output import info, print_json
    from medhub.core.runconfig.flags import flag_values, given_flags
    from medhub.core.runner import config as cfg
    from medhub.core.runner import driver

    quiet = args.quiet or not sys.stderr.isatty()
    if args.resume:
        given = given_flags(args) + ["--set"] * bool(args.set) + ["--config"] * bool(args.config)
        if given:
            raise MedhubError(f"--resume {args.resume} continues the run with its saved configuration; "
                              f"{', '.join(given)} cannot change it. Start a new run with those flags instead")
        record = driver.resume(args.resume, quiet=quiet, announce=info)
    else:
        flags = flag_values(args)  # None: not given
        flags.update(parse_set(args.set))
        file_config = cfg.read_config_file(args.config) if args.config else None
        config = cfg.resolve(file_config, flags)
        record = driver.run(config, quiet=quiet, announce=info)
    if record is None:  # a torchrun rank other than 0: rank 0 prints the result
        return 0
    if args.json:
        print_json(record)
    else:
        print_summary(record)
    return 0


def print_summary(record: dict) -> None:
    """The final metrics table, the run folder and the TensorBoard command (on stderr when --json is off? no: stdout)."""
    from medhub.core.output import print_table

    agg = record["metrics"]["aggregate"]
    rank = record["ranking"]
    print(f"run {record['run_id']}: {record['dataset']['id']} x {record['model']['id']} "
          f"({record['model']['parameters']:,} parameters) on {record['devices']['device']}")
    print_table([(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in agg.items()],
                [f"metric ({record['dataset']['split']['name']} split)", "value"])
    print(f"ranking: {rank['metric']} = {rank['value']} ({rank['direction']} is better)")
    print(f"run folder: {record['artifacts']['run_dir']}")
    print(f"tensorboard --logdir {record['artifacts']['tensorboard']}")
