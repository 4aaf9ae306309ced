"""The model family: providers that drive generative models from local weights (GPU in production)."""
