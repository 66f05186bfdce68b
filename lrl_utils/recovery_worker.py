"""One worker's share of a recovery: `python -m lrl_utils.recovery_worker ATTACK VARIANT... --worker K --workers N`.

N such processes (a SLURM array, N terminals, N machines sharing the project folder) fill the recovery's
chunk cache under .cache/recovery/ together, each computing chunk i when i % N == K. Then the stage
(e.g. `dvc repro recover@lrl`) finds every chunk, loads it and only assembles the results. The worker
uses the stage's own settings (`Project.recovery_settings`), so both address the same cache. Several
variants are filled one after the other, with the networks and the attacked images made once.
"""
from __future__ import annotations

import argparse

from . import artifacts
from .checks import resolve_device
from .defense import INPUTS, attacked_images
from .layout import Project
from .resumable import fill_chunks


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attack", help="the attack's name: paper, a key of fgsm_sweep.magnitudes, full_test, "
                                       "or a key of grid.networks")
    parser.add_argument("variants", nargs="+", metavar="variant",
                        help="the variants' names (under variants: in the settings), filled in this order")
    parser.add_argument("--worker", type=int, required=True, help="this worker's number, 0 to N-1")
    parser.add_argument("--workers", type=int, required=True, help="N, how many workers share the recovery")
    parser.add_argument("--settings", default="params.yaml", help="the settings file (default params.yaml)")
    args = parser.parse_args(argv)
    project = Project(args.settings)
    runs = [run for variant in args.variants for run in project.recoveries(args.attack, variant)]
    device = resolve_device(project.settings["device"])
    classifier, generator = artifacts.load_networks(project, device, runs[0].attack)
    attack = attacked_images(project, runs[0].attack, classifier)
    for run in runs:
        settings = project.recovery_settings(run)
        images = attack[INPUTS[settings.pop("inputs")]]
        computed = fill_chunks(generator, images, attack["indices"], project.cache_dir("recovery"),
                               worker=args.worker, workers=args.workers,
                               chunk_images=project.settings["recover"]["chunk_images"], device=device, **settings)
        print(f"worker {args.worker} of {args.workers}: {computed} chunks computed for {args.attack}/{run.variant}")


if __name__ == "__main__":
    main()
