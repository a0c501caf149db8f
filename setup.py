"""overlaylab: a datacenter virtualization lab on Mininet, Open vSwitch, os-ken and scapy."""
from setuptools import find_packages, setup

setup(
    name="overlaylab",
    version="0.1.0",
    description="See datacenter virtualization work: a fat-tree underlay, per-server virtual switches, "
                "tenant overlays (VXLAN, GENEVE, GRE) and probes that prove delivery and isolation.",
    python_requires=">=3.10",
    packages=find_packages(include=["topologies", "controller", "vswitch", "probes", "overlaylab", "overlaylab.*"]),
    package_data={"topologies": ["*.yaml"], "overlaylab.classroom": ["live/*"]},
    install_requires=[
        "os-ken>=4.2,<5",
        "scapy>=2.5,<3",
        "pyroute2>=0.7,<0.10",
        "PyYAML>=6.0,<7",
        "matplotlib>=3.6,<4",  # overlaylab compare's plot (the fabric pictures are Graphviz's)
        "aiohttp>=3.9,<4",  # the live view's server (overlaylab.classroom.liveserver says why)
    ],
    extras_require={"test": ["pytest>=7,<10", "pytest-xdist>=3,<4", "hypothesis>=6,<7", "ruff", "mypy",
                            "selenium>=4.10,<5",  # the live view, tested in Debian's chromium
                            # examples/lab_tour.ipynb, executed by the tests as Jupyter would
                            "nbclient>=0.7,<1", "nbformat>=5,<6", "ipykernel>=6,<8", "jupyter_client>=7,<9"]},
    entry_points={"console_scripts": ["overlaylab=overlaylab.faces.cli:main"]},
)
