"""Built-in evaluation metrics (registered by ``genforge.builtins.metrics``)."""
