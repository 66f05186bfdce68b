"""nbval runs each notebook once with its defaults (the quick profile, under quick/). Two notebooks read
results that the pipeline makes by running 03 and 04 again with other settings: 08_fgsm_sweep (stages
attack_sweep and recover_sweep, per magnitude) and 09_full_test (attack_full_test, recover_full_test).
They are made here the same way, before the notebook's first cell."""
from pathlib import Path

import papermill
import yaml

HERE = Path(__file__).resolve().parent
QUICK = yaml.safe_load((HERE.parent / "profiles" / "quick.yaml").read_text())
PAPER_VARIANTS = {name: QUICK["variants"][name] for name in ("defensegan", "lrl")}


def pytest_runtest_setup(item):
    name = Path(str(item.fspath)).name
    if name in PREPARE and name not in _prepared:
        PREPARE[name]()
        _prepared.add(name)


def _quick_sweep():
    for key, eps in QUICK["fgsm_sweep"]["magnitudes"].items():
        _attack_and_recover(f"quick/results/fgsm_sweep/{key}", key, eps, QUICK["fgsm_sweep"]["images"])


def _quick_full_test():
    _attack_and_recover("quick/results/full_test", "full_test", QUICK["attack"]["eps"],
                        QUICK["full_test"]["images"], attack_folder="quick/results/full_test/attack",
                        save_recovery=False)


def _attack_and_recover(folder, suffix, eps, images, attack_folder=None, **recover_parameters):
    """Notebook 03 on ``images`` test images at ``eps`` into ``attack_folder`` (default ``folder``), then
    notebook 04 with the paper's two variants into ``folder``; executed copies under quick/results/notebooks."""
    attack_folder = attack_folder or folder
    executed = HERE.parent / "quick/results/notebooks"
    executed.mkdir(parents=True, exist_ok=True)  # papermill does not make it
    papermill.execute_notebook(
        HERE / "03_attack_fgsm.ipynb", executed / f"03_attack_fgsm_{suffix}.ipynb",
        parameters={"eps": eps, "eval_images": images, "attack_path": f"{attack_folder}/attack.pt",
                    "metrics_path": f"{attack_folder}/metrics.json", "figures_dir": attack_folder},
        cwd=str(HERE.parent), progress_bar=False)
    papermill.execute_notebook(
        HERE / "04_recover_latents.ipynb", executed / f"04_recover_latents_{suffix}.ipynb",
        parameters={"attack_path": f"{attack_folder}/attack.pt", "out_dir": folder, "variants": PAPER_VARIANTS,
                    **recover_parameters},
        cwd=str(HERE.parent), progress_bar=False)


PREPARE = {"08_fgsm_sweep.ipynb": _quick_sweep, "09_full_test.ipynb": _quick_full_test}
_prepared = set()
