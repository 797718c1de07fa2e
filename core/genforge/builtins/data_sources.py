"""Built-in plugin registering the data sources of ``genforge.data`` (no torch imports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genforge.data import cifar, digits, idx, image_folder, npz, shards, toy2d, wav_folder
from genforge.hookspecs import hookimpl

if TYPE_CHECKING:
    from genforge.registrars import DataSourceRegistrar


@hookimpl
def genforge_register_data_sources(register: DataSourceRegistrar) -> None:
    """Register the built-in data sources (``digits``, ``npz``, ``image-folder``, ``wav-folder``, ...)."""
    register("digits", "genforge.data.digits:load", digits.DigitsConfig,
             "scikit-learn's bundled 8x8 handwritten digits, 10 classes (resizable)")
    register("npz", "genforge.data.npz:load", npz.NpzConfig,
             "arrays from a .npz file you give, with optional labels")
    register("image-folder", "genforge.data.image_folder:load", image_folder.ImageFolderConfig,
             "a folder of PNG/JPEG images, optionally one subfolder per class")
    register("wav-folder", "genforge.data.wav_folder:load", wav_folder.WavFolderConfig,
             "a folder of PCM WAV files (audio, time series), optionally one subfolder per class")
    register("toy2d", "genforge.data.toy2d:load", toy2d.Toy2DConfig,
             "2-D toy sets: 8 Gaussians on a ring, 25 on a grid, swiss roll")
    register("mnist", "genforge.data.idx:load", idx.MnistConfig,
             "IDX files you have: MNIST, Fashion-MNIST, KMNIST, EMNIST (plain or .gz)")
    register("cifar10", "genforge.data.cifar:load_cifar10", cifar.Cifar10Config,
             "CIFAR-10's binary version you have (data_batch_*.bin, test_batch.bin)")
    register("cifar100", "genforge.data.cifar:load_cifar100", cifar.Cifar100Config,
             "CIFAR-100's binary version you have (train.bin, test.bin), fine or coarse labels")
    register("shards", "genforge.data.shards:load", shards.ShardsConfig,
             "tar shards written by genforge data pack (WebDataset layout), streamed while training")
