"""FLAME parameter sequences: reading tracker outputs, resampling in time, writing npz/JSON.

    from flame_core.sequence import load_sequence
    seq = load_sequence("tracked_flame_params_30.npz", fps=30)   # VHAP, GaussianAvatars, ...
    seq24 = seq.resample(24)                                     # slerped rotations
    seq24.frame(0)                                               # FlameParams of one frame
"""

from ..errors import SequenceFileError
from ._format import FRAME_ID_KEY
from .cameras import has_cameras, head_motion, sequence_cameras, view_camera
from .core import FlameSequence
from .files import FORMATS, detect_format, load_sequence, save_sequence
from .resample import axis_angle_to_quaternion, quaternion_to_axis_angle, resample_params, slerp
from .vhap import vhap_keys

__all__ = [
    "FORMATS",
    "FRAME_ID_KEY",
    "FlameSequence",
    "SequenceFileError",
    "axis_angle_to_quaternion",
    "detect_format",
    "has_cameras",
    "head_motion",
    "load_sequence",
    "quaternion_to_axis_angle",
    "resample_params",
    "save_sequence",
    "sequence_cameras",
    "slerp",
    "vhap_keys",
    "view_camera",
]
