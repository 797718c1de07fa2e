"""The plugins genforge itself ships, each a module named for what it does.

They load like any installed plugin (``genforge.plugins.BUILTIN_PLUGINS`` lists them)
and stay free of torch imports at module level: ``genforge plugins`` imports them.
"""
