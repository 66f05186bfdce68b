"""The pipeline's settings (params.yaml, or a profile with the same keys), checked when they are loaded.

This module only accepts or refuses settings; it cannot change what a stage computes, so the stages do
not list it among their deps (tests/test_dvc_deps.py leaves it out on purpose).

Every stage loads them through `load` before it runs (lrl_utils.run_notebook does), so a wrong value,
e.g. `dvc exp run -S attack.eps=abc`, stops the stage at once with the key, the value and what is allowed,
not deep inside a notebook. `python -m lrl_utils.settings [params.yaml]` checks a file by hand.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

from .adaptive import KEEP
from .artifacts import WEIGHT_DTYPES
from .checks import check_number
from .defense import INPUTS
from .models import CLASSIFIER_ARCHITECTURES, GENERATOR_ARCHITECTURES
from .recovery import SELECT_RULES
from .restriction import REFERENCES, RESTRICTIONS
from .speed import PRECISIONS
from .training import GAN_LOSSES, KEEP_EPOCH

DEVICES = ("auto", "cpu", "cuda")
TEST_IMAGES = 10000


def _int(low=0, high=None):
    return lambda key, v: check_number(key, v, integer=True, low=low, high=high)


def _real(low=None, high=None, low_open=False):
    return lambda key, v: check_number(key, v, low=low, high=high, low_open=low_open)


def _fraction(key, v):  # an Adam beta: in [0, 1)
    check_number(key, v, low=0)
    if v >= 1:
        raise ValueError(f"{key} must be < 1; got {v!r}")


def _choice(choices):
    def check(key, v):
        if v not in choices and not (choices is DEVICES and isinstance(v, str) and v.startswith("cuda:")):
            raise ValueError(f"{key} must be one of {', '.join(map(repr, choices))}; got {v!r}")
    return check


def _names(key, v):  # a list of distinct names (e.g. variants)
    if not isinstance(v, list) or not v or not all(isinstance(n, str) and n for n in v) or len(set(v)) < len(v):
        raise ValueError(f"{key} must be a list of distinct names; got {v!r}")


def _pairs(key, v):  # [[a, b], ...]: a compared with b
    if not isinstance(v, list) or not v or not all(isinstance(p, list) and len(p) == 2 for p in v):
        raise ValueError(f"{key} must be a list of [variant, variant] pairs; got {v!r}")
    for pair in v:
        _pair(key, pair)


def _pair(key, v):  # [a, b]: two distinct variants
    if not isinstance(v, list) or len(v) != 2:
        raise ValueError(f"{key} must be a [variant, variant] pair; got {v!r}")
    _names(key, v)


def _values(low_open):  # a list of distinct numbers >= 0 (> 0 if low_open): the axes of lr_alpha_map
    def check(key, v):
        if not isinstance(v, list) or not v:
            raise ValueError(f"{key} must be a non-empty list of numbers; got {v!r}")
        for i, value in enumerate(v):
            check_number(f"{key}[{i}]", value, low=0, low_open=low_open)
        if len(set(v)) < len(v):
            raise ValueError(f"{key} must not repeat a value; got {v!r}")
    return check


def _flag(key, v):
    if not isinstance(v, bool):
        raise ValueError(f"{key} must be true or false; got {v!r}")


def _text(key, v):
    if not isinstance(v, str) or not v:
        raise ValueError(f"{key} must be a non-empty text; got {v!r}")


CLASSIFIER = {"architecture": _choice(CLASSIFIER_ARCHITECTURES), "epochs": _int(1), "batch_size": _int(1),
              "lr": _real(0, low_open=True), "train_limit": _int()}
VARIANT = {"alpha": _real(low=0), "inputs": _choice(INPUTS), "restriction": _choice(RESTRICTIONS),
           "reference": _choice(REFERENCES), "lr": _real(low=0, low_open=True)}
# Every key of the settings and its check; a dict value is a section, `{name: ...}` entries of free names.
SCHEMA = {
    "seed": _int(), "device": _choice(DEVICES),
    "data": {"dir": _text},
    "classifiers": ("names", CLASSIFIER),
    "generators": ("names", {"architecture": _choice(GENERATOR_ARCHITECTURES), "loss": _choice(GAN_LOSSES),
                             "latent_dim": _int(1), "epochs": _int(1), "batch_size": _int(1),
                             "lr": _real(0, low_open=True), "beta1": _fraction, "train_limit": _int(),
                             "keep": _choice(KEEP_EPOCH), "weights": _choice(WEIGHT_DTYPES)}),
    "attack": {"classifier": _text, "eps": _real(low=0), "eval_images": _int(1, TEST_IMAGES), "eval_seed": _int()},
    "recover": {"generator": _text, "steps": _int(1), "beta1": _fraction, "beta2": _fraction, "restarts": _int(1),
                "select": _choice(SELECT_RULES), "chunk_images": _int(1), "batch_size": _int(0),
                "compile": _flag, "precision": _choice(PRECISIONS)},
    "adaptive": {"images": _int(1), "eps": _real(low=0), "step_size": _real(0, low_open=True), "steps": _int(1),
                 "attackers": ("names", _int()), "pairs": _pairs,
                 "eot": {"seed": _int(), "samples": _int(1), "steps": _int(1), "step_size": _real(0, low_open=True),
                         "keep": _choice(KEEP), "pairs": _pairs},
                 "chunk_images": _int(1)},
    "fgsm_sweep": {"images": _int(1, TEST_IMAGES), "magnitudes": ("names", _real(low=0, low_open=True))},
    "full_test": {"images": _int(1, TEST_IMAGES)},
    "defenses": _names,
    "headline": {"pairs": ("names", _pair)},
    "grid": {"networks": ("names", {"classifier": _text, "generator": _text, "restart_seed": _int()}), "pairs": _pairs},
    "lr_alpha_map": {"images": _int(1, TEST_IMAGES), "variant": _text, "lrs": _values(low_open=True),
                     "alphas": _values(low_open=False), "maps": ("names", {"classifier": _text, "generator": _text})},
    "generator_quality": {"features": _text,
                          "samples": _int(2, TEST_IMAGES), "neighbours": _int(1),
                          "inversion": {"images": _int(1, TEST_IMAGES), "steps": _int(1), "lr": _real(0, low_open=True)}},
    "variants": ("names", VARIANT),
}


def problems(params, schema=SCHEMA, prefix: str = "") -> list[str]:
    """Every way ``params`` differs from the schema: missing, unknown or wrong keys, each with its key."""
    if not isinstance(params, dict):
        return [f"{prefix.rstrip('.') or 'the settings'} must be a mapping of keys; got {params!r}"]
    found = [f"{prefix}{key} is missing" for key in schema if key not in params]
    found += [f"{prefix}{key} is not a setting of the pipeline (a typo?); the keys here are "
              f"{', '.join(schema)}" for key in params if key not in schema]
    for key, check in schema.items():
        if key not in params:
            continue
        value, dotted = params[key], f"{prefix}{key}"
        if isinstance(check, tuple):  # ("names", check of each entry): entries the profile names freely
            found += _named_entries(value, check[1], dotted)
        elif isinstance(check, dict):
            found += problems(value, check, f"{dotted}.")
        else:
            found += _run(check, dotted, value)
    return found


def _named_entries(entries, check, dotted) -> list[str]:
    if not isinstance(entries, dict) or not entries:
        return [f"{dotted} must map names to settings; got {entries!r}"]
    found = []
    for name, value in entries.items():
        if not isinstance(name, str) or "." in name or "@" in name:
            found.append(f"{dotted}: the name {name!r} must be a text without '.' or '@' (DVC reads them)")
        found += problems(value, check, f"{dotted}.{name}.") if isinstance(check, dict) else _run(
            check, f"{dotted}.{name}", value)
        if isinstance(check, dict) and isinstance(value, dict):
            if value.get("restriction") == "sphere" and value.get("alpha"):
                found.append(f"{dotted}.{name}: restriction 'sphere' has no loss term for alpha to weigh: set alpha 0")
    return found


def _run(check, key, value) -> list[str]:
    try:
        check(key, value)
    except ValueError as err:
        return [str(err)]
    return []


class SettingsError(ValueError):
    """The settings file has missing, unknown or invalid keys."""


def load(path="params.yaml") -> dict:
    """The settings of ``path``, checked; every problem is listed with its key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: the pipeline's settings (params.yaml, or a profile under "
                                f"profiles/) are read from it")
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SettingsError(f"{path} is not valid YAML: {err}") from None
    found = problems(params)
    if found:
        raise SettingsError(f"{path} has {len(found)} problem(s):\n  " + "\n  ".join(found))
    return params


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "params.yaml"
    try:
        load(path)
    except (SettingsError, FileNotFoundError) as err:
        raise SystemExit(str(err))
    print(f"{path}: every setting is valid")


if __name__ == "__main__":
    main()
