"""Built-in data sources (registered by ``genforge.builtins.data_sources``) and their shared types."""
