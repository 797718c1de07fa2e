"""Built-in data sources (registered by ``genforge.data.plugin``) and their shared types."""
