"""Package ``edge``: the on-device Japanese number-plate reader, and its ``anpr`` command."""

import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', Path("edge/__init__.py").read_text()).group(1)

setup(
    name="edge-anpr",
    version=VERSION,
    description="Japanese number-plate reader for parking gates and toll lanes (Jetson and CPU)",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["edge", "edge.*"]),
    package_data={"edge.plates": ["data/*.json"], "edge.web": ["templates/*.html", "static/*"]},
    # README.md says why each dependency is there.
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "Pillow>=10.0",
        "matplotlib-fontja>=1.0",
        "tqdm>=4.60",
        "onnxruntime>=1.16",
        "onnx>=1.14",
        "sqlite-utils>=4.0",
        "pyserial>=3.5",
        "paho-mqtt>=2.0",
        "Flask>=3.0",
        "Flask-WTF>=1.2",
        "waitress>=3.0",
        'tomli>=2.0; python_version < "3.11"',
    ],
    extras_require={
        # TensorRT and jetson-utils come from JetPack on the device and are never pip dependencies
        # (the PyPI package named jetson-utils is unrelated). JetPack's TensorRT bindings are built
        # against numpy 1.x. pycuda: the explicit CUDA context and buffers of edge/vision/tensorrt.py.
        "jetson": ["numpy<2", "pycuda>=2022.1"],
        # Training the segmentation and field-reader models on CPU (engines/, make train).
        "train": ["torch==2.13.0", "onnxscript>=0.1"],  # Debian fonts for more variety: see `make fonts`
        "dev": ["pytest>=7.4", "hypothesis>=6.100", "selenium>=4.15"],
    },
    entry_points={"console_scripts": ["anpr=edge.cli:main"]},
)
