"""flame_core: the FLAME parametric head model in numpy.

    import flame_core
    model = flame_core.load_model("generic_model.pkl")      # or flame_core.demo_model()
    out = model.forward(flame_core.FlameParams(expression=[1.0], jaw=[0.2, 0, 0]))
    out.vertices  # (5023, 3)

No Blender, scipy, torch or chumpy is needed: numpy alone (safetensors when installed).
"""

from .camera import BlenderCamera, Camera, default_front_camera
from .demo import demo_model
from .demo_animation import demo_sequence
from .errors import (
    FileFormatError,
    FlameError,
    MeshMismatchError,
    ModelFileError,
    ParamsError,
    SequenceFileError,
    UnsafePickleError,
)
from .images import read_exr, read_png, save_image, write_exr, write_png
from .io import load_model, save_model
from .landmarks import LandmarkEmbedding
from .mesh import face_areas, face_normals, vertex_normals
from .model import FlameModel, FlameOutput
from .params import FIELDS, JOINT_NAMES, N_EXPRESSION, N_SHAPE, PARENTS, FlameParams
from .ply import read_ply, write_ply
from .render import NormalMap, iter_normal_maps, render_normal_map, render_normal_maps
from .sampling import SurfaceSamples, evaluate_samples, sample_surface
from .sequence import FlameSequence, head_motion, load_sequence, save_sequence, sequence_cameras

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "JOINT_NAMES",
    "N_EXPRESSION",
    "N_SHAPE",
    "PARENTS",
    "BlenderCamera",
    "Camera",
    "FileFormatError",
    "FlameError",
    "FlameModel",
    "FlameOutput",
    "FlameParams",
    "FlameSequence",
    "LandmarkEmbedding",
    "MeshMismatchError",
    "ModelFileError",
    "NormalMap",
    "ParamsError",
    "SequenceFileError",
    "SurfaceSamples",
    "UnsafePickleError",
    "default_front_camera",
    "demo_model",
    "demo_sequence",
    "evaluate_samples",
    "face_areas",
    "face_normals",
    "head_motion",
    "iter_normal_maps",
    "load_model",
    "load_sequence",
    "read_exr",
    "read_ply",
    "read_png",
    "render_normal_map",
    "render_normal_maps",
    "sample_surface",
    "save_image",
    "save_model",
    "save_sequence",
    "sequence_cameras",
    "vertex_normals",
    "write_exr",
    "write_ply",
    "write_png",
]
