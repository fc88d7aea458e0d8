"""Model file readers and writers (being written)."""


def load_model(*args, **kwargs):
    raise NotImplementedError


def save_model(*args, **kwargs):
    raise NotImplementedError
