"""Reading and writing FLAME model files and their companions (landmarks, UVs, masks, eyelid shapes).

One module per format: :mod:`.pkl` (official pickles, through the restricted unpickler of
:mod:`.safe_pickle`), :mod:`.npz`, :mod:`.safetensors_io`, :mod:`.npy_folder`; plus :mod:`.obj` /
:mod:`.uvs` (UV layouts), :mod:`.masks`, :mod:`.eyelids` and :mod:`.landmark_files`; :mod:`.torch_files` reads
what ``torch.save`` writes (and torch tensors inside pickles) without torch. :mod:`.layout` maps each
format's arrays to a :class:`~flame_core.FlameModel` and back. Every reader opens files through
:mod:`.files` (regular files only, size caps) and rebuilds arrays through :mod:`.safe_arrays`
(plain dtypes, sizes checked against the bytes present).
"""

from .eyelids import load_eyelids
from .landmark_files import load_landmarks
from .layout import guess_version
from .masks import load_masks
from .model_files import attach, detect_format, load_model, save_model
from .uvs import load_uvs

__all__ = ["attach", "detect_format", "guess_version", "load_eyelids", "load_landmarks", "load_masks", "load_model",
           "load_uvs", "save_model"]
