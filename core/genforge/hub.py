"""What a model hub (the Hugging Face Hub) accepts in a model card's metadata (no torch).

The license ids are the Hub's list (docs/hub/repositories-licenses.md of huggingface/hub-docs);
``huggingface_hub`` ships no copy of it, and the Hub refuses a card whose ``license`` is
not on it. The Hub's pipeline tags (huggingface.js, packages/tasks/src/pipelines.ts) have
``unconditional-image-generation`` and no class-conditional task, so genforge gives that
tag to every image model and adds the ``class-conditional`` tag to label-conditioned ones.
"""

from __future__ import annotations

import re

HUB_LICENSES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear
c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl
ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1
lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa
unlicense zlib pddl lgpl-lr deepfloyd-if-license llama2 gemma unknown other
""".split())

#: The Hub's pipeline tag of every image model genforge trains.
IMAGE_PIPELINE_TAG = "unconditional-image-generation"
#: The tag a label-conditioned model adds (the Hub has no class-conditional pipeline tag).
CONDITIONAL_TAG = "class-conditional"

#: A Hub dataset id: ``owner/name``.
DATASET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def check_license(value: str) -> str:
    """``value`` if it is one of the Hub's license ids; else ``ValueError`` saying what is expected."""
    if value not in HUB_LICENSES:
        raise ValueError("expected a license id of the Hub, such as apache-2.0, mit, cc-by-4.0, "
                         "unknown or other (docs/guide.md#card)")
    return value


def check_dataset_id(value: str) -> str:
    """``value`` if it has the shape of a Hub dataset id (``owner/name``); else ``ValueError``."""
    if not DATASET_ID.fullmatch(value):
        raise ValueError(f"{value!r}: expected a Hub dataset id such as ylecun/mnist (owner/name)")
    return value
