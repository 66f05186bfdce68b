"""nbval runs each notebook once with its defaults (the quick profile, under quick/). 08_fgsm_sweep also
needs the quick profile's FGSM sweep, which the pipeline makes by running 03 and 04 again per magnitude
(stages attack_sweep and recover_sweep): made here the same way before 08's first cell."""
from pathlib import Path

import papermill
import yaml

HERE = Path(__file__).resolve().parent
QUICK = yaml.safe_load((HERE.parent / "profiles" / "quick.yaml").read_text())


def pytest_runtest_setup(item):
    if Path(str(item.fspath)).name == "08_fgsm_sweep.ipynb" and not getattr(pytest_runtest_setup, "done", False):
        _run_quick_sweep()
        pytest_runtest_setup.done = True


def _run_quick_sweep():
    sweep = QUICK["fgsm_sweep"]
    variants = {name: QUICK["variants"][name] for name in ("defensegan", "lrl")}
    (HERE.parent / "quick/results/notebooks").mkdir(parents=True, exist_ok=True)  # papermill does not make it
    for key, eps in sweep["magnitudes"].items():
        folder = f"quick/results/fgsm_sweep/{key}"
        papermill.execute_notebook(
            HERE / "03_attack_fgsm.ipynb", HERE.parent / f"quick/results/notebooks/03_attack_fgsm_{key}.ipynb",
            parameters={"eps": eps, "eval_images": sweep["images"], "attack_path": f"{folder}/attack.pt",
                        "metrics_path": f"{folder}/metrics.json", "figures_dir": folder},
            cwd=str(HERE.parent), progress_bar=False)
        papermill.execute_notebook(
            HERE / "04_recover_latents.ipynb", HERE.parent / f"quick/results/notebooks/04_recover_latents_{key}.ipynb",
            parameters={"attack_path": f"{folder}/attack.pt", "out_dir": folder, "variants": variants},
            cwd=str(HERE.parent), progress_bar=False)
