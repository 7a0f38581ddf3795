"""Synthetic Japanese plates and scenes, drawn from the rules in ``edge.plates``.

``make_sample(seed, index, kind)`` is the whole interface for training code (it streams without
touching disk); ``edge.synth.dataset`` writes samples to a folder; ``edge.synth.compare`` puts
synthetic crops beside real ones.
"""

from edge.synth.scene import KINDS, Sample, make_sample

__all__ = ["KINDS", "Sample", "make_sample"]
