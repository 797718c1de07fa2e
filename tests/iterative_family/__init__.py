"""A worked example of an iterative family: a tiny conditional DDPM with a 1,000-step sampler.

Tests load it as a plugin with ``Plugins(extra=[tests.iterative_family.plugin])``;
docs/plugins/writing.md walks through it.
"""
