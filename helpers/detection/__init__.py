"""Object detection (chapter 09): load a TF-Hub style detector, boxes, IoU, NMS, drawing, mAP.

Import it whole, `from helpers import detection`; the functions live in its modules by topic:
`boxes` (pixels, IoU, best detections, NMS, drawing), `evaluation` (AP, mAP), `scenes` (the
synthetic digit scenes) and `hub` (loading detectors). Building the course's digit detector is
not here but in the build tools: `course-build-detector` (coursebuild/build_detector.py).
"""

from helpers.detection.boxes import (
    as_text,
    draw_boxes,
    iou,
    label_text,
    non_max_suppression,
    pairwise_iou,
    to_pixel_boxes,
    top_detections,
)
from helpers.detection.evaluation import (
    average_precision,
    evaluate_detector,
    mean_average_precision,
)
from helpers.detection.hub import (
    BUILD_COMMAND,
    DIGIT_DETECTOR_DIR,
    FASTER_RCNN_HANDLE,
    OUTPUT_KEYS,
    SSD_MOBILENET_HANDLE,
    DetectorMissingError,
    default_detector_dir,
    hub_reachable,
    load_detector,
)
from helpers.detection.scenes import (
    CANVAS,
    NUM_CLASSES,
    Scenes,
    held_out_scenes,
    make_scenes,
    to_detector_input,
)

__all__ = [
    "BUILD_COMMAND",
    "CANVAS",
    "DIGIT_DETECTOR_DIR",
    "FASTER_RCNN_HANDLE",
    "NUM_CLASSES",
    "OUTPUT_KEYS",
    "SSD_MOBILENET_HANDLE",
    "DetectorMissingError",
    "Scenes",
    "as_text",
    "average_precision",
    "default_detector_dir",
    "hub_reachable",
    "draw_boxes",
    "evaluate_detector",
    "held_out_scenes",
    "iou",
    "label_text",
    "load_detector",
    "make_scenes",
    "mean_average_precision",
    "non_max_suppression",
    "pairwise_iou",
    "to_detector_input",
    "to_pixel_boxes",
    "top_detections",
]
