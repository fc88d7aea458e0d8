"""The embedded procedural head (being written)."""


def demo_model(*args, **kwargs):
    raise NotImplementedError
