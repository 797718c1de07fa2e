"""The run and checkpoint folder layout, written and read here alone. No pickle.

A run folder holds ``checkpoints/step-NNNNNN/`` folders and a ``checkpoints/latest``
pointer file naming the newest. A checkpoint folder holds ``config.json`` (the run
config plus the private keys of ``CheckpointMeta``), ``model.safetensors``, the
optional ``ema.safetensors`` and the training state (safetensors + a JSON skeleton).
A tensor held under several keys of a state dict is stored once (``weights.aliases``).

Each folder is written under a temporary name, flushed to disk and renamed into
place; the pointer is replaced atomically after that, so a crash at any moment
leaves the previous checkpoint intact and current.

``config.json`` carries a format version (``FORMAT``); one without it is format 1
(genforge 0.1.0). ``SavedRun.open`` migrates older formats on reading, so the rest
of genforge sees only the current one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from genforge import __version__
from genforge.data.info import DataInfo
from genforge.errors import CheckpointError
from genforge.files import fsync_dir, regular_file
from genforge.weights import ALIASES, aliases, with_aliases
from genforge_runtime.atomic import replacing

#: The checkpoint format this release writes.
FORMAT = 2

CHECKPOINTS = "checkpoints"
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
EMA_WEIGHTS = "ema.safetensors"
STATE = "training_state.safetensors"
STATE_JSON = "training_state.json"
LATEST = "latest"
#: The run folder's sample grids, ``samples/step-NNNNNN.png`` (``grid_file``).
SAMPLES = "samples"
#: What ``latest`` may name: a step folder directly inside ``checkpoints/``.
STEP_NAME = re.compile(r"step-\d{6,}")
_TENSOR = "__tensor__"

#: Keys ``config.json`` holds beside the run config (the ``_`` ones never reach a config).
FAMILY_KEY = "_family"
FAMILY_VERSION_KEY = "_family_version"
MODEL_KEY = "_model"
VERSION_KEY = "_genforge_version"
STEP_KEY = "_step"
FORMAT_KEY = "_format"
DATA_INFO_KEY = "data_info"
#: ``CheckpointMeta.family`` of a checkpoint that did not record its distribution
UNRECORDED = "unknown"


@dataclass(frozen=True)
class CheckpointMeta:
    """Provenance and data description stored with a checkpoint's run config.

    ``family`` is the distribution that registered the model (``UNRECORDED`` if the checkpoint
    does not say) and ``family_version`` its version (empty before genforge recorded it).
    """

    family: str
    model: str
    step: int
    data_info: DataInfo
    genforge_version: str = __version__
    family_version: str = ""

    @property
    def written_by(self) -> str:
        """``distribution version`` of the family that wrote the checkpoint, for messages."""
        return f"{self.family} {self.family_version}".strip()

    def config_json(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The ``config.json`` content: the run config plus this meta under its keys."""
        return {**config, FAMILY_KEY: self.family, FAMILY_VERSION_KEY: self.family_version,
                MODEL_KEY: self.model, VERSION_KEY: self.genforge_version, STEP_KEY: self.step,
                FORMAT_KEY: FORMAT, DATA_INFO_KEY: self.data_info.to_dict()}


def _from_format1(saved: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (genforge 0.1.0) had no format key; the layout is otherwise format 2's."""
    return {**saved, FORMAT_KEY: 2}


#: ``MIGRATIONS[n]`` turns a format ``n`` config into format ``n + 1``.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_format1}


def migrate(saved: dict[str, Any], where: Path) -> dict[str, Any]:
    """Bring a ``config.json`` of any earlier format to ``FORMAT``; refuse a newer one."""
    version = saved.get(FORMAT_KEY, 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"{where}: {FORMAT_KEY} = {version!r}, expected a format number")
    if version > FORMAT:
        raise CheckpointError(f"{where}: checkpoint format {version} is newer than this genforge "
                              f"{__version__} reads (up to {FORMAT}); upgrade genforge")
    while version < FORMAT:
        saved = MIGRATIONS[version](saved)
        version += 1
    return saved


@dataclass(frozen=True)
class SavedRun:
    """One checkpoint folder on disk: its run config, its meta and its files."""

    path: Path
    config: dict[str, Any]
    meta: CheckpointMeta

    @classmethod
    def open(cls, path: str | Path) -> SavedRun:
        """Read a run folder (its latest checkpoint) or a checkpoint folder, migrating old formats."""
        ckpt = find_checkpoint(path)
        where = ckpt / CONFIG
        saved = read_config(ckpt)
        if not isinstance(saved, dict) or DATA_INFO_KEY not in saved or "model" not in saved:
            raise CheckpointError(f"{where}: not a genforge checkpoint config")
        saved = migrate(saved, where)
        config = {k: v for k, v in saved.items() if not k.startswith("_") and k != DATA_INFO_KEY}
        try:
            info = DataInfo.from_dict(saved[DATA_INFO_KEY])
            meta = CheckpointMeta(
                family=str(saved.get(FAMILY_KEY, UNRECORDED)),
                family_version=str(saved.get(FAMILY_VERSION_KEY, "")),
                model=str(saved.get(MODEL_KEY, config["model"].get("name", ""))),
                step=int(saved.get(STEP_KEY, 0)), data_info=info,
                genforge_version=str(saved.get(VERSION_KEY, "unknown")))
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"{where}: malformed {DATA_INFO_KEY} or model section: "
                                  f"{type(e).__name__}: {e}") from None
        return cls(ckpt, config, meta)

    @property
    def weights_file(self) -> Path:
        """The file of the trained weights."""
        return self.path / WEIGHTS

    def weights(self) -> dict[str, torch.Tensor]:
        """The trained weights (a state dict)."""
        return read_tensors(self.weights_file)

    def ema_weights(self) -> dict[str, torch.Tensor] | None:
        """The averaged weights, or None when the run kept no average."""
        path = self.path / EMA_WEIGHTS
        return read_tensors(path) if path.is_file() else None

    def training_state(self) -> dict[str, Any]:
        """The optimizer, step and RNG state a resumed run continues from."""
        return read_training_state(self.path)

    def weights_sha256(self) -> str:
        """Hex sha256 of the weights file: which weights an export came from."""
        digest = hashlib.sha256()
        with self.weights_file.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


def has_checkpoint(run_dir: str | Path) -> bool:
    """True when ``run_dir`` already holds a run (a ``latest`` pointer)."""
    return (Path(run_dir) / CHECKPOINTS / LATEST).exists()


def step_dir_name(step: int) -> str:
    """Folder name of the checkpoint at ``step``."""
    return f"step-{step:06d}"


def grid_file(step: int) -> str:
    """The sample grid of ``step``, relative to the run folder."""
    return f"{SAMPLES}/{step_dir_name(step)}.png"


def run_folder(checkpoint: Path) -> Path | None:
    """The run folder holding a checkpoint folder (``RUN/checkpoints/step-N``); None for a lone one."""
    parent = checkpoint.parent
    if parent.name == CHECKPOINTS and STEP_NAME.fullmatch(checkpoint.name) and (parent / LATEST).is_file():
        return parent.parent
    return None


def flatten_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Move every tensor of a nested structure into ``tensors``; return a JSON-ready skeleton."""
    if isinstance(obj, torch.Tensor):
        key = prefix or "root"
        tensors[key] = obj.detach().cpu().clone().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, Mapping):
        return {"__dict__": [[k, flatten_state(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


def unflatten_state(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of ``flatten_state``."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        return {k: unflatten_state(v, tensors) for k, v in skeleton["__dict__"]}
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def _write_json(path: Path, data: Any) -> None:
    with path.open("w") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str] | None = None) -> None:
    """Write ``tensors``; a tensor held under several keys is stored once (the rest as ``ALIASES``)."""
    links = aliases(tensors)
    if links:
        meta = {**(meta or {}), ALIASES: json.dumps(links)}
    save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items() if k not in links},
              str(path), meta)
    with path.open("rb") as f:
        os.fsync(f.fileno())


def write_atomic_text(path: Path, text: str) -> None:
    """Write a small text file whole or not at all (a temporary file flushed and renamed over ``path``)."""
    with replacing(path) as tmp, tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(
    run_dir: Path,
    config: dict[str, Any],
    meta: CheckpointMeta,
    weights: dict[str, torch.Tensor],
    training_state: dict[str, Any],
    keep: int = 3,
    ema_weights: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write a checkpoint folder atomically, point ``latest`` at it and prune old ones.

    The folder is ``run_dir/checkpoints/step-NNNNNN`` for the meta's step; ``config`` is the
    run config and ``ema_weights`` the average of the weights, if the run keeps one. What
    earlier interrupted saves left is removed first (its space may be needed), and a save
    that fails (a full disk) removes what it wrote: ``latest`` still names a whole checkpoint.
    """
    root = Path(run_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(root)
    final = root / step_dir_name(meta.step)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    try:
        tmp.mkdir()
        _write_json(tmp / CONFIG, meta.config_json(config))
        _save_tensors(tmp / WEIGHTS, weights, {"format": "pt"})
        if ema_weights is not None:
            _save_tensors(tmp / EMA_WEIGHTS, ema_weights, {"format": "pt"})
        tensors: dict[str, torch.Tensor] = {}
        skeleton = flatten_state(training_state, "state", tensors)
        _save_tensors(tmp / STATE, tensors)
        _write_json(tmp / STATE_JSON, skeleton)
        fsync_dir(tmp)
        if final.exists():
            old = root / f".old-{final.name}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old)
        else:
            os.replace(tmp, final)
        write_atomic_text(root / LATEST, final.name + "\n")
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep, final.name)
    return final


def _clear_leftovers(root: Path) -> None:
    """Remove what interrupted saves left: temporary folders and pointers, folders being deleted.

    Only the trainer holding the run lock calls this; readers never open these names.
    """
    for p in root.iterdir():
        if p.name.startswith((".tmp-", ".old-", f".{LATEST}.tmp-")):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def _prune(root: Path, keep: int, current: str) -> None:
    """Remove step folders beyond the newest ``keep`` (never ``current``, the one just written).

    A folder is first renamed away (atomic), then deleted: a reader sees it whole or not at
    all, never half-deleted. Only the trainer holding the run lock calls this.
    """
    steps = sorted((p for p in root.iterdir() if p.is_dir() and STEP_NAME.fullmatch(p.name)),
                   key=lambda p: int(p.name.removeprefix("step-")))
    for p in steps[:-keep]:
        if p.name == current:
            continue
        if p.is_symlink():
            p.unlink()
        else:
            doomed = root / f".old-{p.name}-{os.getpid()}"
            os.replace(p, doomed)
            shutil.rmtree(doomed, ignore_errors=True)


def folder_size(path: Path) -> int:
    """Bytes of the files in a folder (a checkpoint's size on disk, roughly)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def find_checkpoint(path: str | Path) -> Path:
    """Resolve a run folder (its latest checkpoint) or a checkpoint folder to a checkpoint folder."""
    p = Path(path)
    if (p / CONFIG).is_file() and (p / WEIGHTS).is_file():
        return p
    pointer = p / CHECKPOINTS / LATEST
    if not p.exists():
        raise CheckpointError(f"{p}: no such run or checkpoint folder")
    if not pointer.is_file():
        raise CheckpointError(f"{p}: not a checkpoint folder (no {CONFIG} + {WEIGHTS}) "
                              f"and not a run folder (no {CHECKPOINTS}/{LATEST})")
    regular_file(pointer, "checkpoint pointer", CheckpointError)
    with pointer.open("rb") as f:
        name = f.read(64).decode("utf-8", "replace").strip()
    if not STEP_NAME.fullmatch(name):
        raise CheckpointError(f"{pointer}: names {name!r}, not a step folder of {p / CHECKPOINTS} "
                              "(expected step-NNNNNN)")
    target = p / CHECKPOINTS / name
    if not (target / CONFIG).is_file():
        raise CheckpointError(f"{pointer}: points to {target.name}, which is missing or incomplete")
    return target


def read_config(ckpt: Path) -> dict[str, Any]:
    """Read a checkpoint's ``config.json``."""
    return _read_json(ckpt / CONFIG)


def _read_json(path: Path) -> Any:
    """A JSON file of a checkpoint, with one-line errors (also for a file removed while read)."""
    regular_file(_present(path), "JSON file", CheckpointError)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError
        raise CheckpointError(f"{path}: unreadable: {type(e).__name__}: {e}") from None


def _present(path: Path) -> Path:
    """``path``; a ``CheckpointError`` saying so when its checkpoint folder was pruned meanwhile."""
    if not path.parent.exists():
        raise CheckpointError(f"{path.parent}: removed while being read (a running trainer pruned "
                              "it); run the command again")
    return path


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file (never executes code), its aliased keys included; one-line errors."""
    regular_file(_present(path), "safetensors file", CheckpointError)
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no iterator
            metadata = f.metadata()
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{path}: unreadable safetensors file: {e}") from None
    return with_aliases(tensors, metadata, path)


def read_training_state(ckpt: Path) -> dict[str, Any]:
    """Read the optimizer, step and RNG state written by ``save_checkpoint``."""
    if not (ckpt / STATE_JSON).exists():
        raise CheckpointError(f"{ckpt}: no training state; it cannot be resumed")
    skeleton = _read_json(ckpt / STATE_JSON)
    tensors = read_tensors(ckpt / STATE)
    try:
        return unflatten_state(skeleton, tensors)
    except (KeyError, TypeError, ValueError, RecursionError) as e:
        raise CheckpointError(f"{ckpt / STATE_JSON}: malformed training state: {type(e).__name__}: "
                              f"{e}") from None
