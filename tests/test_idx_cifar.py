"""The ``mnist`` (IDX files) and ``cifar10``/``cifar100`` (binary versions) data sources.

The tests write small files in the exact formats (load_digits images, upscaled), plain and
gzip; every corrupt file gives one line and exit status 2 through ``genforge train``.
"""

from __future__ import annotations

import gzip
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits

from genforge.cli import main
from genforge.data import cifar, idx
from genforge.data.base import TensorData
from genforge.errors import DataError
from genforge.trainer import iterate_batches

# ---------------------------------------------------------------- writing the formats


def idx_bytes(a: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file holding ``a`` (its header, then its bytes)."""
    return bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.tobytes()


def write(path: Path, data: bytes) -> Path:
    """Write ``data``, gzip-compressed when the name ends in ``.gz``."""
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def digit_images(n: int, side: int, channels: int = 1, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` scikit-learn digits as uint8 ``[n, side, side]`` (``[n, 3, side, side]``) and their labels."""
    bunch = load_digits()
    x = torch.from_numpy(bunch.images[offset: offset + n] / 16.0).float()[:, None]
    x = F.interpolate(x, size=side, mode="bilinear", align_corners=False).clamp(0, 1)
    if channels == 3:  # three different planes, so a mixed-up channel order shows
        x = torch.cat([x, x * 0.5, 1 - x], dim=1)
    else:
        x = x[:, 0]
    return (x * 255).round().to(torch.uint8).numpy(), bunch.target[offset: offset + n].astype(np.uint8)


def mnist_folder(root: Path, prefix: str = "", gz: bool = True, n: int = 40, side: int = 28,
                 test: str = "t10k", labels: np.ndarray | None = None) -> Path:
    """An IDX set: ``n`` training and ``n // 2`` held-out digits under ``prefix``."""
    root.mkdir(parents=True, exist_ok=True)
    end = ".gz" if gz else ""
    for split, count, offset in (("train", n, 0), (test, n // 2, n)):
        x, y = digit_images(count, side, offset=offset)
        if labels is not None:
            y = labels[offset: offset + count]
        write(root / f"{prefix}{split}-images-idx3-ubyte{end}", idx_bytes(x))
        write(root / f"{prefix}{split}-labels-idx1-ubyte{end}", idx_bytes(y))
    return root


def cifar_folder(root: Path, hundred: bool = False, n: int = 12) -> Path:
    """A CIFAR binary version as extracted, under ``root``: ``n`` records a file."""
    folder = root / ("cifar-100-binary" if hundred else "cifar-10-batches-bin")
    folder.mkdir(parents=True)
    files = ["train.bin", "test.bin"] if hundred else \
        [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for i, name in enumerate(files):
        x, y = digit_images(n, 32, channels=3, offset=n * i)
        labels = np.stack([y * 2, (y * 10 + np.arange(n)) % 100], 1) if hundred else y[:, None]
        records = np.concatenate([labels.astype(np.uint8), x.reshape(n, -1)], axis=1)
        (folder / name).write_bytes(records.tobytes())
    return folder


# ---------------------------------------------------------------- mnist


def test_mnist_plain_and_gz_give_the_files_bytes(tmp_path: Path) -> None:
    plain = idx.load(idx.MnistConfig(path=str(mnist_folder(tmp_path / "plain", gz=False))))
    packed = idx.load(idx.MnistConfig(path=str(mnist_folder(tmp_path / "gz", gz=True))))
    x, y = digit_images(40, 28)
    for data in (plain, packed):
        assert data.info.shape == (1, 28, 28) and data.info.name == "mnist"
        assert (data.info.num_train, data.info.num_test) == (40, 20)
        assert data.info.class_names == tuple("0123456789")
        assert data.train.stored.dtype == torch.uint8
        assert torch.equal(data.train.stored[:, 0], torch.from_numpy(x))
        assert torch.equal(data.train.x, torch.from_numpy(x).float()[:, None] / 255)
        assert data.train.y.tolist() == y.tolist()
    assert torch.equal(plain.test.stored, packed.test.stored)


def test_mnist_size_resizes_the_bytes(tmp_path: Path) -> None:
    folder = mnist_folder(tmp_path)
    data = idx.load(idx.MnistConfig(path=str(folder), size=32))
    assert data.info.shape == (1, 32, 32) and data.train.stored.shape == (40, 1, 32, 32)
    assert data.train.stored.dtype == torch.uint8
    native = idx.load(idx.MnistConfig(path=str(folder), size=28)).train.x
    back = F.interpolate(data.train.x, size=28, mode="bilinear", antialias=True)
    assert (back - native).abs().mean() < 0.03  # the same digits, resampled


def test_emnist_sets_by_variant_transposed_with_their_mapping(tmp_path: Path) -> None:
    letters = np.arange(60, dtype=np.uint8) % 26 + 1  # EMNIST letters: labels 1..26
    mnist_folder(tmp_path, "emnist-letters-", test="test", n=40, labels=letters)
    mnist_folder(tmp_path, "emnist-digits-", test="test", n=40)
    (tmp_path / "emnist-letters-mapping.txt").write_text(
        "".join(f"{k} {64 + k} {96 + k}\n" for k in range(1, 27)))
    with pytest.raises(DataError, match=r"holds several IDX sets \(emnist-digits, emnist-letters\); "
                                        "choose one with data.variant"):
        idx.load(idx.MnistConfig(path=str(tmp_path)))
    data = idx.load(idx.MnistConfig(path=str(tmp_path), variant="emnist-letters"))
    assert data.info.name == "emnist-letters" and data.info.num_classes == 26
    assert data.info.class_names[:3] == ("Aa", "Bb", "Cc")
    assert data.train.y.tolist() == (letters[:40] - 1).tolist()
    assert data.info.num_test == 20
    x, _ = digit_images(40, 28)
    assert torch.equal(data.train.stored[:, 0], torch.from_numpy(x).transpose(1, 2))
    upright = idx.load(idx.MnistConfig(path=str(tmp_path), variant="emnist-digits", transpose=False))
    assert torch.equal(upright.train.stored[:, 0], torch.from_numpy(x))
    assert upright.info.class_names == tuple("0123456789")  # no mapping file: 0 to 9


def test_mnist_kaggle_names_without_a_held_out_split_and_class_names(tmp_path: Path) -> None:
    x, y = digit_images(30, 28)
    write(tmp_path / "train-images.idx3-ubyte", idx_bytes(x))
    write(tmp_path / "train-labels.idx1-ubyte", idx_bytes(y % 3))
    data = idx.load(idx.MnistConfig(path=str(tmp_path), class_names=["a", "b", "c"]))
    assert data.test is None and data.info.num_test == 0
    assert data.info.class_names == ("a", "b", "c") and data.train.y.max() == 2


def test_bytes_batch_as_the_float_samples_they_replace(tmp_path: Path) -> None:
    data = idx.load(idx.MnistConfig(path=str(mnist_folder(tmp_path))))
    as_floats = TensorData(data.train.x, data.train.y)
    assert data.train.stored.nbytes * 4 == as_floats.stored.nbytes
    cpu = torch.device("cpu")
    batches = iterate_batches(data.train, 8, seed=3, start_step=0, device=cpu)
    reference = iterate_batches(as_floats, 8, seed=3, start_step=0, device=cpu)
    for _ in range(6):  # past an epoch
        (x, y), (x_ref, y_ref) = next(batches), next(reference)
        assert x.dtype == torch.float32 and torch.equal(x, x_ref) and torch.equal(y, y_ref)
    assert data.train.to("meta").stored.dtype == torch.uint8  # bytes on the device too
    with pytest.raises(ValueError, match="as_bytes takes uint8 samples"):
        TensorData(data.train.x, as_bytes=True)


# ---------------------------------------------------------------- cifar


def test_cifar10_from_the_folder_or_its_parent(tmp_path: Path) -> None:
    folder = cifar_folder(tmp_path)
    a = cifar.load_cifar10(cifar.Cifar10Config(path=str(folder)))
    b = cifar.load_cifar10(cifar.Cifar10Config(path=str(tmp_path)))
    assert torch.equal(a.train.stored, b.train.stored) and torch.equal(a.test.stored, b.test.stored)
    assert a.info.shape == (3, 32, 32) and (a.info.num_train, a.info.num_test) == (60, 12)
    assert a.info.class_names == tuple("0123456789") and a.info.name == "cifar10"
    record = np.frombuffer((folder / "data_batch_2.bin").read_bytes(), np.uint8).reshape(12, 3073)[5]
    assert a.train.y[12 + 5] == record[0]
    assert torch.equal(a.train.stored[12 + 5], torch.from_numpy(record[1:].reshape(3, 32, 32).copy()))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    small = cifar.load_cifar10(cifar.Cifar10Config(path=str(folder), size=16))
    assert small.info.class_names == tuple(names) and small.train.stored.shape == (60, 3, 16, 16)


def test_cifar100_fine_or_coarse_labels(tmp_path: Path) -> None:
    folder = cifar_folder(tmp_path, hundred=True)
    rows = np.frombuffer((folder / "train.bin").read_bytes(), np.uint8).reshape(12, 3074)
    fine = cifar.load_cifar100(cifar.Cifar100Config(path=str(tmp_path)))
    coarse = cifar.load_cifar100(cifar.Cifar100Config(path=str(tmp_path), labels="coarse"))
    assert fine.info.num_classes == 100 and coarse.info.num_classes == 20
    assert fine.train.y.tolist() == rows[:, 1].tolist() and coarse.train.y.tolist() == rows[:, 0].tolist()
    assert torch.equal(fine.train.stored, coarse.train.stored)
    (folder / "coarse_label_names.txt").write_text("".join(f"group{i}\n" for i in range(20)))
    named = cifar.load_cifar100(cifar.Cifar100Config(path=str(folder), labels="coarse"))
    assert named.info.class_names[19] == "group19"


# ---------------------------------------------------------------- bad files, through the CLI


def errors_of(capsys: pytest.CaptureFixture[str], source: str, path: Path, *sets: str) -> str:
    """Run ``genforge train`` on ``path``; assert exit status 2 and one line; return the line."""
    run = path.parent / f"run-{path.name}"
    code = main(["train", "--model", "vae", "--data", source, "--set", f"data.path={path}",
                 *[a for s in sets for a in ("--set", s)], "--out", str(run), "--steps", "1",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("genforge: error: "), err
    return err


def images_file(folder: Path) -> Path:
    return folder / "train-images-idx3-ubyte.gz"


def labels_file(folder: Path) -> Path:
    return folder / "train-labels-idx1-ubyte.gz"


def rewrite(path: Path, change: Callable[[bytes], bytes]) -> None:
    """Replace an IDX file's (decompressed) bytes by ``change(bytes)``."""
    raw = path.read_bytes()
    write(path, change(gzip.decompress(raw) if path.name.endswith(".gz") else raw))


def at(offset: int, value: int) -> Callable[[bytes], bytes]:
    return lambda b: b[:offset] + bytes([value]) + b[offset + 1:]


def images_of(a: np.ndarray, code: int = 0x08) -> Callable[[bytes], bytes]:
    return lambda _: idx_bytes(a, code)


def gz_cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


def gz_flip(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def unzip_keep_name(path: Path) -> None:
    path.write_bytes(gzip.decompress(path.read_bytes()))


def gzip_named_plain(folder: Path) -> None:
    images_file(folder).rename(folder / "train-images-idx3-ubyte")


def plain_short_labels(folder: Path) -> None:
    plain = folder / "train-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(labels_file(folder).read_bytes())[:-3])
    labels_file(folder).unlink()


def remove_labels(folder: Path) -> None:
    labels_file(folder).unlink()


def add_second_set(folder: Path) -> None:
    mnist_folder(folder, "emnist-mnist-", n=4)


def huge_claim(folder: Path) -> None:
    # a header declaring 2**31 images over 15 real bytes
    images_file(folder).write_bytes(gzip.compress(idx_bytes(np.zeros((1, 1, 1), np.uint8))[:4]
                                                  + struct.pack(">3I", 2**31 - 1, 28, 28) + b"x"))


def bad_mapping(folder: Path) -> None:
    (folder / "mapping.txt").write_text("0 48\n1 forty-nine\n")


def short_mapping(folder: Path) -> None:
    (folder / "mapping.txt").write_text("".join(f"{k} {48 + k}\n" for k in range(5)))


def small_test_images(folder: Path) -> None:
    x, y = digit_images(20, 20)
    write(folder / "t10k-images-idx3-ubyte.gz", idx_bytes(x))


MNIST_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "magic": (lambda d: rewrite(images_file(d), at(0, 1)),
              "train-images-idx3-ubyte.gz: magic number 0x01000803 is not an IDX header"),
    "gzip-without-.gz": (gzip_named_plain, "is not an IDX header (0x0000, a type code, the number of "
                                           "dimensions) (it is gzip-compressed: name it .gz)"),
    "float-type": (lambda d: rewrite(images_file(d), images_of(np.zeros((4, 2, 2), np.float32), 0x0D)),
                   "train-images-idx3-ubyte.gz: holds 32-bit floats (type code 0x0d); images files "
                   "hold unsigned bytes (0x08)"),
    "unknown-type": (lambda d: rewrite(labels_file(d), at(2, 0x42)),
                     "train-labels-idx1-ubyte.gz: holds an unknown type (type code 0x42)"),
    "images-2d": (lambda d: rewrite(images_file(d), images_of(np.zeros((4, 784), np.uint8))),
                  "train-images-idx3-ubyte.gz: has 2 dimensions; images files have 3"),
    "labels-3d": (lambda d: rewrite(labels_file(d), images_of(np.zeros((40, 1, 1), np.uint8))),
                  "train-labels-idx1-ubyte.gz: has 3 dimensions; labels files have 1"),
    "count-mismatch": (lambda d: rewrite(labels_file(d), lambda b: idx_bytes(np.frombuffer(b[8:-1], "u1"))),
                       "train-labels-idx1-ubyte.gz: holds 39 labels but train-images-idx3-ubyte.gz "
                       "holds 40 images"),
    "short-data": (lambda d: rewrite(d / "t10k-images-idx3-ubyte.gz", lambda b: b[:-100]),
                   "t10k-images-idx3-ubyte.gz: ends 100 bytes short of the images"),
    "short-header": (lambda d: rewrite(labels_file(d), lambda b: b[:6]),
                     "train-labels-idx1-ubyte.gz: ends 2 bytes short of the header"),
    "plain-short-data": (plain_short_labels,
                         "train-labels-idx1-ubyte: holds 37 bytes of labels where 40 are expected"),
    "truncated-gz": (lambda d: gz_cut(images_file(d)), "train-images-idx3-ubyte.gz: truncated .gz"),
    "corrupt-gz": (lambda d: gz_flip(images_file(d)), "train-images-idx3-ubyte.gz: corrupt .gz"),
    "plain-named-gz": (lambda d: unzip_keep_name(labels_file(d)),
                       "train-labels-idx1-ubyte.gz: corrupt .gz (Not a gzipped file"),
    "trailing-bytes": (lambda d: rewrite(images_file(d), lambda b: b + b"\0"),
                       "train-images-idx3-ubyte.gz: has bytes past the images its header declares"),
    "label-out-of-range": (lambda d: rewrite(labels_file(d), at(8 + 3, 10)),
                           "train-labels-idx1-ubyte.gz: label 10 (item 3) is out of range: 10 classes; "
                           "set data.class_names for more"),
    "no-images": (lambda d: rewrite(images_file(d), images_of(np.zeros((0, 28, 28), np.uint8))),
                  "train-images-idx3-ubyte.gz: declares the shape [0, 28, 28]: no images"),
    "held-out-size": (small_test_images, "t10k-images-idx3-ubyte.gz: images are 20x20 but the training "
                                         "images are 28x28"),
    "missing-labels": (remove_labels, "train-images-idx3-ubyte.gz: its partner "
                                      "train-labels-idx1-ubyte[.gz] is missing"),
    "huge-claim": (huge_claim, "train-images-idx3-ubyte.gz: the images would take 1683627179248 bytes, "
                               "more than a .gz of"),
    "two-sets": (add_second_set, "holds several IDX sets ((no prefix), emnist-mnist); choose one with "
                                 "data.variant"),
    "bad-mapping": (bad_mapping, "mapping.txt: line 2 is not 'label code [code ...]'"),
    "label-not-mapped": (short_mapping, "train-labels-idx1-ubyte.gz: label 5 (item 5) is out of range: "
                                        "5 classes; mapping.txt does not name it"),
}


@pytest.mark.parametrize("case", sorted(MNIST_CASES))
def test_a_bad_idx_file_is_one_line_naming_it(tmp_path: Path, capsys, case: str) -> None:
    folder = mnist_folder(tmp_path / "set")
    make, message = MNIST_CASES[case]
    make(folder)
    assert message in errors_of(capsys, "mnist", folder)


def test_bad_idx_options_and_folders_are_one_line(tmp_path: Path, capsys) -> None:
    folder = mnist_folder(tmp_path / "set", n=4)
    assert "data.variant 'emnist-byclass': no emnist-byclass-train-images-idx3-ubyte[.gz]" in \
        errors_of(capsys, "mnist", folder, "data.variant=emnist-byclass")
    assert "label 1 (item 1) is out of range: 1 classes; data.class_names names fewer" in \
        errors_of(capsys, "mnist", folder, "data.class_names=['a']")
    assert "no train-images-idx3-ubyte[.gz]" in errors_of(capsys, "mnist", tmp_path)
    assert "not a folder" in errors_of(capsys, "mnist", images_file(folder))
    assert "no such folder" in errors_of(capsys, "mnist", tmp_path / "missing")


def cut_record(folder: Path) -> None:
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-1])


def cifar100_train(root: Path, records: bytes) -> None:
    (root / "cifar-100-binary").mkdir()
    (root / "cifar-100-binary" / "train.bin").write_bytes(records)


def python_version(root: Path) -> None:
    shutil.rmtree(root / "cifar-10-batches-bin")
    (root / "cifar-10-batches-py").mkdir()
    (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\x80\x04pickle")


CIFAR_CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "not-whole-records": (
        lambda r: cut_record(r / "cifar-10-batches-bin"), "cifar10",
        "data_batch_3.bin: 36875 bytes is not a whole number of 3073-byte records "
        "(1 label byte and 3072 pixel bytes)"),
    "empty": (
        lambda r: (r / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(b""), "cifar10",
        "test_batch.bin: 0 bytes is not a whole number of 3073-byte records"),
    "label-out-of-range": (
        lambda r: (r / "cifar-10-batches-bin" / "data_batch_1.bin").write_bytes(bytes([10]) + bytes(3072)),
        "cifar10", "data_batch_1.bin: record 0 has label 10; CIFAR-10 labels are 0..9"),
    "missing-batch": (
        lambda r: (r / "cifar-10-batches-bin" / "data_batch_4.bin").unlink(), "cifar10",
        "data_batch_4.bin: CIFAR-10 batch file not found"),
    "python-version": (
        python_version, "cifar10",
        "holds CIFAR-10's python version, whose files are pickles, which genforge never loads; "
        "download the binary version (cifar-10-binary.tar.gz)"),
    "names-file": (
        lambda r: (r / "cifar-10-batches-bin" / "batches.meta.txt").write_text("cat\ndog\n"), "cifar10",
        "batches.meta.txt: names 2 classes, one a line, expected 10"),
    "archive": (
        lambda r: (r / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b"), "cifar10:archive",
        "an archive; extract it (tar xzf) and give the cifar-10-batches-bin folder"),
    "cifar100-python": (
        lambda r: ((r / "train").write_bytes(b"\x80"), (r / "meta").write_bytes(b"\x80")), "cifar100",
        "holds CIFAR-100's python version, whose files are pickles"),
    "cifar100-fine-label": (
        lambda r: cifar100_train(r, bytes([3, 100]) + bytes(3072)), "cifar100",
        "train.bin: record 0 has fine label 100; CIFAR-100 fine labels are 0..99"),
    "cifar100-coarse-label": (
        lambda r: cifar100_train(r, bytes([20, 5]) + bytes(3072)), "cifar100",
        "train.bin: record 0 has coarse label 20; CIFAR-100 coarse labels are 0..19"),
    "cifar100-test-missing": (
        lambda r: cifar100_train(r, bytes(3074)), "cifar100", "test.bin: CIFAR-100 batch file not found"),
}


@pytest.mark.parametrize("case", sorted(CIFAR_CASES))
def test_a_bad_cifar_file_is_one_line_naming_it(tmp_path: Path, capsys, case: str) -> None:
    make, source, message = CIFAR_CASES[case]
    root = tmp_path / "root"
    if source == "cifar10":
        cifar_folder(root, n=12)
    root.mkdir(exist_ok=True)
    make(root)
    path = root / "cifar-10-binary.tar.gz" if source.endswith(":archive") else root
    assert message in errors_of(capsys, source.split(":")[0], path)


# ---------------------------------------------------------------- mutated headers and lengths

MUTATION = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, bool, Callable[[bytes], bytes]]:
    """Which file, whether it is gzipped, and a change of its header or its length."""
    name = draw(st.sampled_from(FILES))
    gz = draw(st.booleans())
    header = 16 if "images" in name else 8
    kind = draw(st.sampled_from(["header", "cut", "append"]))
    if kind == "header":
        offset, delta = draw(st.integers(0, header - 1)), draw(st.integers(1, 255))
        return name, gz, lambda b: b[:offset] + bytes([(b[offset] + delta) % 256]) + b[offset + 1:]
    if kind == "cut":
        keep = draw(st.integers(0, 10**6))
        return name, gz, lambda b: b[: keep % len(b)]
    extra = draw(st.binary(min_size=1, max_size=16))
    return name, gz, lambda b: b + extra


@MUTATION
@given(mutation=mutations())
def test_any_mutated_header_or_length_is_one_line_naming_the_file(tmp_path_factory, capsys,
                                                                  mutation) -> None:
    name, gz, change = mutation
    folder = tmp_path_factory.mktemp("mutated")
    for f in FILES:  # 6x6 images: the format, not the pixels, is under test
        x, y = digit_images(8 if f.startswith("train") else 4, 6)
        data = idx_bytes(x if "images" in f else y)
        write(folder / (f + (".gz" if gz and f == name else "")), change(data) if f == name else data)
    assert name in errors_of(capsys, "mnist", folder)


# ---------------------------------------------------------------- every family, end to end

TINY = {
    "gan": ["model.latent_dim=8", "model.ngf=8", "model.ndf=8"],
    "cgan": ["model.latent_dim=8", "model.ngf=8", "model.ndf=8", "model.embed_dim=4"],
    "vae": ["model.latent_dim=4", "model.hidden=16", "model.width=4"],
    "cvae": ["model.latent_dim=4", "model.hidden=16", "model.width=4", "model.embed_dim=4"],
    "cfm": ["model.widths=[8, 16]", "model.groups=4", "model.embed_dim=16"],
}
#: The GAN and VAE families each on 28x28 grey and on 32x32 RGB; the U-Net at 28x28.
RUNS = [("gan", "mnist"), ("cgan", "cifar10"), ("vae", "cifar100"), ("cvae", "mnist"), ("cfm", "mnist")]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sets")
    cifar_folder(root / "c10", n=8)
    cifar_folder(root / "c100", hundred=True, n=16)
    return {"mnist": mnist_folder(root / "mnist", n=32), "cifar10": root / "c10",
            "cifar100": root / "c100"}


@pytest.mark.parametrize(("family", "source"), RUNS, ids=[f"{f}-{s}" for f, s in RUNS])
def test_each_family_trains_samples_evaluates_and_exports(tmp_path: Path, capsys, folders, family: str,
                                                          source: str) -> None:
    run, sets = tmp_path / "run", [a for s in TINY[family] for a in ("--set", s)]
    steps = ["--set", "sampler.steps=2"] if family == "cfm" else []
    assert main(["train", "--model", family, "--data", source, "--set", f"data.path={folders[source]}",
                 *sets, "--set", "trainer.batch_size=8", "--set", "trainer.sample_every=0",
                 "--steps", "2", "--out", str(run), "--no-progress"]) == 0
    assert main(["sample", str(run), "-n", "4", "--seed", "1", *steps, "--out", str(tmp_path / "s.npy")]) == 0
    side, channels = (28, 1) if source == "mnist" else (32, 3)
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (4, channels, side, side) and 0 <= samples.min() and samples.max() <= 1
    assert main(["eval", str(run), "--seeds", "1", "--n", "16", *steps,
                 "--json", str(tmp_path / "eval.json")]) == 0
    assert "memorisation_ratio" in (tmp_path / "eval.json").read_text()
    assert main(["export", str(run), "--format", "onnx", *steps, "--out", str(tmp_path / "m.onnx")]) == 0
    assert "max abs error" in capsys.readouterr().out and (tmp_path / "m.onnx").stat().st_size > 0
