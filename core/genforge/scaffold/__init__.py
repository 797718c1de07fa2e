"""``genforge plugins new``: writes an installable plugin project that passes the conformance kit.

The templates live in ``templates/`` (package data): ``common/`` holds the files every
project gets, ``generic/``, ``gan/`` and ``vae/`` the model and config of each family kind,
and ``data-source/`` the files of a data source (``genforge plugins new --kind data-source``).
"""
