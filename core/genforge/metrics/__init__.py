"""Built-in evaluation metrics (registered by ``genforge.metrics.plugin``)."""
