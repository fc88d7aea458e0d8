"""flame_core: the FLAME parametric head model in numpy.

    import flame_core
    model = flame_core.load_model("generic_model.pkl")      # or flame_core.demo_model()
    out = model.forward(flame_core.FlameParams(expression=[1.0], jaw=[0.2, 0, 0]))
    out.vertices  # (5023, 3)

No Blender, scipy, torch or chumpy is needed: numpy alone (safetensors when installed).
"""

from .demo import demo_model
from .errors import FileFormatError, FlameError, ModelFileError, ParamsError, SequenceFileError, UnsafePickleError
from .io import load_model, save_model
from .landmarks import LandmarkEmbedding
from .mesh import face_areas, face_normals, vertex_normals
from .model import FlameModel, FlameOutput
from .params import FIELDS, JOINT_NAMES, N_EXPRESSION, N_SHAPE, PARENTS, FlameParams

__version__ = "0.1.0"

__all__ = [
    "FIELDS",
    "JOINT_NAMES",
    "N_EXPRESSION",
    "N_SHAPE",
    "PARENTS",
    "FileFormatError",
    "FlameError",
    "FlameModel",
    "FlameOutput",
    "FlameParams",
    "LandmarkEmbedding",
    "ModelFileError",
    "ParamsError",
    "SequenceFileError",
    "UnsafePickleError",
    "demo_model",
    "face_areas",
    "face_normals",
    "load_model",
    "save_model",
    "vertex_normals",
]
